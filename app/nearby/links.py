"""Navigation links for Chinese map apps, each built in the system its app reads."""

import json
from functools import lru_cache
from urllib.parse import quote


# The same places answer many searches: their links are built once.
@lru_cache(maxsize=65536)
def navigation_json(
    gcj: tuple[float, float], bd: tuple[float, float], name: str, *, driving: bool, source: str
) -> str:
    """Links to one position, given in GCJ-02 (Amap, Tencent) and in BD-09 (Baidu), as JSON."""
    (gcj_lon, gcj_lat), (bd_lon, bd_lat) = gcj, bd
    label, src = quote(name, safe=""), quote(source, safe="")
    amap_mode, tencent_mode = ("car", "drive") if driving else ("walk", "walk")
    links = {
        "amap": (
            f"https://uri.amap.com/navigation?to={gcj_lon:.6f},{gcj_lat:.6f},{label}"
            f"&mode={amap_mode}&coordinate=gaode&callnative=1&src={src}"
        ),
        "baidu": (
            f"https://api.map.baidu.com/marker?location={bd_lat:.6f},{bd_lon:.6f}"
            f"&title={label}&content={label}&output=html&coord_type=bd09ll&src={src}"
        ),
        "tencent": (
            f"https://apis.map.qq.com/uri/v1/routeplan?type={tencent_mode}&to={label}"
            f"&tocoord={gcj_lat:.6f},{gcj_lon:.6f}&referer={src}"
        ),
    }
    return json.dumps(links)
