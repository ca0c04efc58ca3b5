"""Images editors ship in the content root: checked when the content loads, uploaded when first sent.

상담톡's ``IM`` carries only a URL its upload API returned (spec §4.1, §4.8), and rendering does
no I/O, so a flow's ``image: images/size-guide.png`` is rendered as an ``IM`` naming the file
(``image_file``, see ``render.py``) and swapped for an uploaded URL just before the write. The
outbox row keeps the name, not a URL: a retry after a restart uploads again instead of sending
a URL this process cannot vouch for.

Uploads are remembered by the SHA-256 of the file's bytes, so an image goes up once per process
however many customers see it, and a file edited on disk is a new key and goes up again. Sending
is the hot path, so the digest itself is remembered by the file's size and modification time:
a send costs one ``stat``, and only a file that changed is read and hashed again. Kakao
may forget an upload: a write refused as an invalid media URL drops the remembered URL and is
retried, and the retry uploads afresh. A fresh upload refused the same way fails the row, so
that can never loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from triage.kakao.client import Delivery, KakaoClient, UploadError
from triage.kakao.protocol import is_error
from triage.kakao.render import IMAGE_FILE, OutboundCall

log = logging.getLogger(__name__)

IMAGE_MAX = 5 * 1024 * 1024
"""상담톡's limit for an uploaded image (spec §5)."""
SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
              (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))
"""The first bytes of the only kinds 상담톡 shows; a name ending in .png proves nothing."""


Stamp = tuple[int, int]
"""A file's modification time (ns) and size: when both are as before, so are its bytes."""


class ImageProblem(Exception):
    """Why a content image cannot be sent; the message names the file as the editor wrote it."""


@dataclass(frozen=True)
class LocalImage:
    name: str
    data: bytes
    content_type: str
    digest: str


def image_type(data: bytes) -> str | None:
    return next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)


def image_path(root: Path, name: str) -> Path:
    """The file ``name`` names inside ``root``; anything reaching outside it is refused, because
    delivery sends these files to Kakao."""
    written = PurePosixPath(name)
    if written.is_absolute():
        raise ImageProblem(f'image "{name}" is an absolute path; write it relative to the content root, '
                           f"like images/size-guide.png")
    if ".." in written.parts:
        raise ImageProblem(f'image "{name}" leaves the content root (".."); keep images inside it')
    base = root.resolve()
    path = (base / written).resolve()
    if not path.is_relative_to(base):
        raise ImageProblem(f'image "{name}" is a symbolic link leading out of the content root')
    if not path.is_file():
        raise ImageProblem(f'image "{name}" is not a file in the content root; '
                           f"put it there, or give an address starting with https://")
    return path


def read_local_image(root: Path, name: str) -> LocalImage:
    path = image_path(root, name)
    try:
        size = path.stat().st_size
        if size > IMAGE_MAX:
            raise ImageProblem(f'image "{name}" is {size:,} bytes; 상담톡 takes images of at most '
                               f"{IMAGE_MAX // (1024 * 1024)} MB ({IMAGE_MAX:,} bytes)")
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(name, exc) from exc
    kind = image_type(data)
    if kind is None:
        raise ImageProblem(f'image "{name}" is not a jpg, png or gif image (judged by its content, not its name)')
    return LocalImage(name, data, kind, hashlib.sha256(data).hexdigest())


def local_image_problem(root: Path, name: str) -> str | None:
    try:
        read_local_image(root, name)
    except ImageProblem as exc:
        return str(exc)
    return None


class ImageUploads:
    """Sends calls through ``client``, first turning a content image a write names into a Kakao URL."""

    def __init__(self, client: KakaoClient, root: Path):
        self.client = client
        self.root = root
        self._urls: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._digests: dict[Path, tuple[Stamp, str]] = {}

    async def send(self, call: OutboundCall) -> Delivery:
        name = call.body.get(IMAGE_FILE)
        if not isinstance(name, str):
            return await self.client.send(call)
        try:
            digest, image = self._digest(name)
            url, fresh = await self._url(name, digest, image)
        except ImageProblem as exc:
            return _refused(Delivery("failed", None, None, str(exc)), name)
        except UploadError as exc:
            return _refused(exc.delivery, name)
        body = {**{k: v for k, v in call.body.items() if k != IMAGE_FILE}, "image_url": url}
        delivery = await self.client.send(OutboundCall(call.kind, body))
        if not is_error(delivery.code, delivery.message, self.client.codes.invalid_media):
            return delivery
        if fresh:
            return _refused(delivery, name)
        if self._urls.get(digest) == url:
            del self._urls[digest]
        return replace(delivery, outcome="retry", message=f'Kakao no longer knows the upload of image "{name}" '
                                                          f"({delivery.message}); it goes up again")

    def _digest(self, name: str) -> tuple[str, LocalImage | None]:
        """The file's digest, with the image when it had to be read for it (so a first send reads
        it once); unchanged since the last send, the file is not read at all."""
        path = image_path(self.root, name)
        stamp = _stamp(path, name)
        known = self._digests.get(path)
        if known is not None and known[0] == stamp:
            return known[1], None
        image = read_local_image(self.root, name)
        self._digests[path] = (stamp, image.digest)
        return image.digest, image

    async def _url(self, name: str, digest: str, image: LocalImage | None) -> tuple[str, bool]:
        """(URL, whether this call uploaded it); one upload at a time per image, so customers
        reaching it together share one."""
        async with self._locks.setdefault(digest, asyncio.Lock()):
            known = self._urls.get(digest)
            if known is not None:
                return known, False
            image = image or read_local_image(self.root, name)
            url = await self.client.upload_image(image.data, PurePosixPath(image.name).name, image.content_type)
            self._urls[image.digest] = url
            return url, True


def _stamp(path: Path, name: str) -> Stamp:
    try:
        status = path.stat()
    except OSError as exc:
        raise _unreadable(name, exc) from exc
    return status.st_mtime_ns, status.st_size


def _unreadable(name: str, exc: OSError) -> ImageProblem:
    return ImageProblem(f'image "{name}" cannot be read: {exc.strerror or exc}')


def _refused(delivery: Delivery, name: str) -> Delivery:
    """The verdict, naming the file; a final one is logged as an error, since only an editor can fix it."""
    if delivery.outcome == "retry":
        return replace(delivery, message=f'uploading image "{name}": {delivery.message}')
    message = delivery.message if name in delivery.message else f'image "{name}": {delivery.message}'
    log.error("%s; that image bubble is not sent", message)
    return replace(delivery, outcome="failed", message=message)
