import hashlib
import io

import pytest
from PIL import ExifTags, Image

PHOTOS = "/v1/media/photos"


def jpeg_with_gps(size=(64, 48)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 49.0, 34.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (117.0, 13.0, 41.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def encoded(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (0, 90, 200)).save(out, kind)
    return out.getvalue()


def upload(client, data: bytes, content_type: str = "image/jpeg"):
    return client.post(PHOTOS, content=data, headers={"Content-Type": content_type})


def test_gps_exif_is_stripped_and_the_photo_is_addressed_by_its_hash(client):
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    response = upload(client, original)
    assert response.status_code == 201, response.text
    photo = response.json()
    assert (photo["content_type"], photo["width"], photo["height"]) == ("image/jpeg", 64, 48)

    served = client.get(f"{PHOTOS}/{photo['sha256']}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(served.content).hexdigest() == photo["sha256"]
    stored = Image.open(io.BytesIO(served.content))
    assert not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not stored.getexif()
    assert b"TestCam" not in served.content
    # The same photo again is the same stored photo.
    assert upload(client, original).json()["sha256"] == photo["sha256"]


def test_png_and_webp_are_accepted(client):
    for kind, content_type in (("PNG", "image/png"), ("WEBP", "image/webp")):
        response = upload(client, encoded(kind), content_type)
        assert response.status_code == 201, response.text
        assert response.json()["content_type"] == content_type


@pytest.mark.parametrize(
    "data",
    [
        encoded("GIF"),
        encoded("BMP"),
        b"%PDF-1.7 not an image",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
    ids=["gif", "bmp", "pdf", "svg"],
)
def test_wrong_types_are_415(client, data):
    # The declared Content-Type is not believed: the bytes decide.
    response = upload(client, data, "image/jpeg")
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


def test_a_broken_image_is_422(client):
    truncated = jpeg_with_gps((400, 300))[:300]
    response = upload(client, truncated)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
    assert upload(client, b"").status_code == 422


def test_too_large_is_413(client, app, settings):
    app.state.settings = settings.model_copy(update={"media_max_bytes": 1024})
    response = upload(client, jpeg_with_gps((300, 300)))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_photo_is_404(client):
    assert client.get(f"{PHOTOS}/{'0' * 64}").status_code == 404
    assert client.get(f"{PHOTOS}/not-a-hash").status_code == 422


def test_signs_refer_to_uploaded_photos_only(client, create):
    facility = create()
    photo = upload(client, jpeg_with_gps()).json()["sha256"]
    url = f"/v1/facilities/{facility['id']}/signs"
    ok = client.post(url, json={"kind": "direction", "status": "planned", "photos": [photo]})
    assert ok.status_code == 201 and ok.json()["photos"] == [photo]
    bad = client.post(url, json={"kind": "direction", "status": "planned", "photos": ["a" * 64]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "photos.0"
