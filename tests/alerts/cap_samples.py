"""CAP 1.2 messages for tests, written as an authority's system would send them."""

from datetime import UTC, datetime, timedelta

SENDER = "rfb@hefei.gov.cn"
# Around the base facility of tests/conftest.py (117.2281, 31.8262), lat,lon as CAP writes.
AROUND_BASE = "31.80,117.20 31.80,117.26 31.85,117.26 31.85,117.20 31.80,117.20"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def message(
    identifier: str,
    *,
    msg_type: str = "Alert",
    status: str = "Actual",
    event: str = "空袭警报 air raid",
    polygon: str | None = AROUND_BASE,
    circle: str | None = None,
    geocodes: tuple[str, ...] = (),
    references: str | None = None,
    expires: datetime | None = None,
    effective: datetime | None = None,
    onset: datetime | None = None,
    sent: datetime | None = None,
    parameters: dict[str, str] | None = None,
    sender: str = SENDER,
    extra_area: str = "",
) -> bytes:
    sent = sent or datetime.now(UTC) - timedelta(minutes=1)
    expires = expires or datetime.now(UTC) + timedelta(hours=2)
    area = "".join(
        [
            f"<polygon>{polygon}</polygon>" if polygon else "",
            f"<circle>{circle}</circle>" if circle else "",
            *(
                f"<geocode><valueName>GB/T 2260</valueName><value>{code}</value></geocode>"
                for code in geocodes
            ),
            extra_area,
        ]
    )
    params = "".join(
        f"<parameter><valueName>{k}</valueName><value>{v}</value></parameter>"
        for k, v in (parameters or {}).items()
    )
    info = (
        ""
        if msg_type == "Cancel"
        else f"""
  <info>
    <language>zh-CN</language>
    <category>Safety</category>
    <event>{event}</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    {f"<effective>{stamp(effective)}</effective>" if effective else ""}
    {f"<onset>{stamp(onset)}</onset>" if onset else ""}
    <expires>{stamp(expires)}</expires>
    <headline>合肥市防空警报</headline>
    <instruction>请立即就近进入人防工程掩蔽</instruction>
    {params}
    <area><areaDesc>合肥市蜀山区</areaDesc>{area}</area>
  </info>"""
    )
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>{sender}</sender>
  <sent>{stamp(sent)}</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {refs}{info}
</alert>""".encode()


def reference(identifier: str, sent: datetime | None = None, sender: str = SENDER) -> str:
    return f"{sender},{identifier},{stamp(sent or datetime.now(UTC))}"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>"""


def external_entity(path: str) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY secret SYSTEM "file://{path}">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>&secret;</identifier><sender>x</sender>
  <sent>2026-12-06T10:00:00+08:00</sent><status>Actual</status><msgType>Alert</msgType>
  <scope>Public</scope>
</alert>""".encode()
