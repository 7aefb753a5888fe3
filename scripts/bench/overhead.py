"""The two halves of scripts/bench_overhead.

  python scripts/bench/overhead.py capture API_URL KEY ANSWERS
      asks the API each case's question once, writes its answers to the file ANSWERS and
      prints the plan: a line per case, tab-separated: label, path, status, headers to send
  python scripts/bench/overhead.py serve ANSWERS PORT
      the bare ASGI app: it sends those answers back, byte for byte, under the uvicorn
      settings of `rf serve` (one process: uvicorn.run with its defaults, no access log and no
      Server header)

A case is a request with its headers; the bare app tells the cases apart by path and by
which of Authorization, If-None-Match and Accept-Encoding: gzip came with it."""

import base64
import http.client
import json
import sys
from urllib.parse import urlsplit

# z14 over Hefei's centre: clusters of the demo data set, under the compression threshold
TILE = "/ogc/collections/facilities/tiles/WebMercatorQuad/14/13527/6663"
# z11 around it: more clusters, over the threshold, so a gzip client gets it compressed
# (from the tile cache, compressed once)
BIG_TILE = "/ogc/collections/facilities/tiles/WebMercatorQuad/11/1690/832"
TILEJSON = "/ogc/collections/facilities/tiles/WebMercatorQuad/tilejson.json"
# uvicorn adds these to every answer, the bare app's too
ADDED_BY_UVICORN = {"date", "server"}


def get(api: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    # As wrk asks: Host and the given headers, no Accept-Encoding unless given
    connection = http.client.HTTPConnection(urlsplit(api).netloc, timeout=30)
    connection.putrequest("GET", path, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def cases(api: str, key: str) -> list[tuple[str, str, dict[str, str]]]:
    etag = get(api, TILE, {}).getheader("etag")  # also renders the tile into the cache
    get(api, BIG_TILE, {})
    questions = [
        ("tile", TILE, {}),
        ("big tile", BIG_TILE, {}),
        ("healthz", "/healthz", {}),
        ("tilejson", TILEJSON, {}),
    ]
    if etag:
        questions.insert(1, ("tile 304", TILE, {"If-None-Match": etag}))
    else:
        print("note: the tile has no ETag: no revalidation case", file=sys.stderr)
    return [
        (f"{name} {who} {encoding}", path, {**headers, **auth, **accept})
        for name, path, headers in questions
        for who, auth in (("anon", {}), ("key", {"Authorization": f"Bearer {key}"}))
        for encoding, accept in (("plain", {}), ("gzip", {"Accept-Encoding": "gzip"}))
    ]


def capture(api: str, key: str, answers_path: str) -> None:
    answers = []
    for label, path, headers in cases(api, key):
        response = get(api, path, headers)
        names = {name.lower() for name in headers}
        answers.append(
            {
                "path": path,
                "authorization": "authorization" in names,
                "if_none_match": "if-none-match" in names,
                "gzip": "accept-encoding" in names,
                "status": response.status,
                "headers": [
                    [name.lower(), value]
                    for name, value in response.getheaders()
                    if name.lower() not in ADDED_BY_UVICORN
                ],
                "body": base64.b64encode(response.body).decode(),
            }
        )
        sent = "\t".join(f"{name}: {value}" for name, value in headers.items())
        print(f"{label}\t{path}\t{response.status}\t{sent}".rstrip("\t"))
    with open(answers_path, "w") as f:
        json.dump(answers, f)


def bare_app(answers_path: str):
    with open(answers_path) as f:
        answers = json.load(f)
    messages = {
        (a["path"], a["authorization"], a["if_none_match"], a["gzip"]): (
            {
                "type": "http.response.start",
                "status": a["status"],
                "headers": [(n.encode("latin-1"), v.encode("latin-1")) for n, v in a["headers"]],
            },
            {"type": "http.response.body", "body": base64.b64decode(a["body"])},
        )
        for a in answers
    }
    unknown = (
        {"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]},
        {"type": "http.response.body", "body": b""},
    )

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        authorization = if_none_match = gzip = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = True
            elif name == b"if-none-match":
                if_none_match = True
            elif name == b"accept-encoding":
                gzip = b"gzip" in value
        start, body = messages.get((scope["path"], authorization, if_none_match, gzip), unknown)
        await send(start)
        await send(body)

    return app


def serve(answers_path: str, port: int) -> None:
    import uvicorn

    uvicorn.run(
        bare_app(answers_path), host="127.0.0.1", port=port, access_log=False, server_header=False
    )


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "capture":
        capture(*args)
    elif command == "serve":
        serve(args[0], int(args[1]))
    else:
        sys.exit(f"unknown command {command!r}")
