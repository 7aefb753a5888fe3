"""Navigation links to a position for the map apps, and the percent-encoding they use
(the nearby search builds the same links in PostgreSQL, nearby.repository.NAVIGATION)."""

from functools import lru_cache

from pydantic import BaseModel

# RFC 3986's unreserved characters stand for themselves; any other byte of the UTF-8 is
# written %XX.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_BYTE = tuple(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256))


def uri_component(text: str) -> str:
    """`text` percent-encoded as urllib.parse.quote(text, safe="") writes it."""
    return "".join([_BYTE[b] for b in text.encode()])


def navigation_json(
    gcj: tuple[float, float], bd: tuple[float, float], name: str, *, driving: bool, source: str
) -> str:
    """Links to one position, given in GCJ-02 (Amap, Tencent) and in BD-09 (Baidu), as JSON.
    Written without json.dumps, which cost a third of the time: percent-encoding leaves
    nothing in a link that JSON would escape."""
    (gcj_lon, gcj_lat), (bd_lon, bd_lat) = gcj, bd
    label, src = uri_component(name), _source(source)
    amap_mode, baidu_mode, tencent_mode = (
        ("car", "driving", "drive") if driving else ("walk", "walking", "walk")
    )
    # Baidu's route planner (/direction), not a marker page: like the other two, it starts
    # from where the device is, since the query point need not be where the caller stands.
    # The destination's name follows "|name:", its position "latlng:" (latitude first).
    return (
        f'{{"amap": "https://uri.amap.com/navigation?to={gcj_lon:.6f},{gcj_lat:.6f},{label}'
        f'&mode={amap_mode}&coordinate=gaode&callnative=1&src={src}", '
        f'"baidu": "https://api.map.baidu.com/direction?destination=latlng:{bd_lat:.6f},'
        f"{bd_lon:.6f}%7Cname:{label}&mode={baidu_mode}&coord_type=bd09ll&output=html"
        f'&src={src}", '
        f'"tencent": "https://apis.map.qq.com/uri/v1/routeplan?type={tencent_mode}&to={label}'
        f'&tocoord={gcj_lat:.6f},{gcj_lon:.6f}&referer={src}"}}'
    )


@lru_cache(maxsize=16)
def _source(source: str) -> str:
    return uri_component(source)


class Position(BaseModel):
    """A position in the answer's `coordsys`: deliberately not a GeoJSON geometry, since
    GCJ-02 and BD-09 positions are not RFC 7946 GeoJSON."""

    lon: float
    lat: float


class Navigation(BaseModel):
    """Ready links for the common Chinese map apps, each in its own coordinate system,
    leading to the entrance (else the facility)."""

    amap: str
    baidu: str
    tencent: str
