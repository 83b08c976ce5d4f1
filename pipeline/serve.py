"""`mnist-tfx serve`: a page to try the latest pushed model with your own hand, and to turn its
mistakes into training data.

The model runs in the browser (LiteRT.js, web/serve.html). This server serves the page and the
latest pushed version's files, prepares each drawing exactly as `predict` does
(components/mnist_example_gen/handwriting.py), and stores corrections as labelled PNGs in the next
span of new data (components/mnist_example_gen/spans.py), where the next run trains and tests on
them. It imports neither TensorFlow nor TFX, so it starts at once; only a URI (gs://) for the serving
or data dir brings in TensorFlow, for its file systems.
"""
import dataclasses
import functools
import http.server
import io
import json
import logging
import os
import re
import time
import urllib.parse
import uuid

import numpy as np
from PIL import Image, UnidentifiedImageError

from components import files
from components.common import DataError
from components.mnist_example_gen import handwriting, spans
from components.tflite_pusher import serving_layout

WEB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web")
MAX_PNG_BYTES = 512 * 1024
MAX_SIDE = 2048
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LATEST_FILES = {f"/{name}": name for name in (serving_layout.MODEL_FILE, serving_layout.METADATA_FILE)}
log = logging.getLogger("mnist-tfx.serve")


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def read_png(body: bytes) -> Image.Image:
    """The request body as a PNG of bounded size; Refused otherwise."""
    if not body.startswith(PNG_SIGNATURE):
        raise Refused(415, "the body must be a PNG image")
    try:
        image = Image.open(io.BytesIO(body))
        if max(image.size) > MAX_SIDE:
            raise Refused(413, f"the image is {image.size[0]}x{image.size[1]}; at most {MAX_SIDE} pixels a side")
        image.load()
    except Image.DecompressionBombError as e:  # a header claiming too many pixels for PIL to open
        raise Refused(413, f"the image is too large ({e}); at most {MAX_SIDE} pixels a side") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise Refused(400, f"not a readable PNG ({e})") from None
    return image


@dataclasses.dataclass(frozen=True)
class Store:
    """The serving dir the page shows models from, and the data dir its corrections go to."""
    serving_dir: str
    data_dir: str | None  # None: the page only reads

    def _pending_spans(self) -> tuple[list[spans.Span], int]:
        """The spans the latest model was not trained on, and the span number corrections go to:
        the newest span if it is pending, else a new one after it."""
        model = serving_layout.latest_metadata(self.serving_dir) or {}
        trained = {span["source"] for span in model.get("spans", [])}
        found = spans.find(self.data_dir)
        pending = [span for span in found if span.source not in trained]
        newest = found[-1] if found else None
        return pending, (newest.number if newest and newest in pending else (newest.number + 1 if newest else 0))

    def status(self) -> dict:
        metadata = serving_layout.latest_metadata(self.serving_dir)
        model = metadata and {"version": metadata["version"], "architecture": metadata.get("architecture"),
                              "dataset": metadata.get("dataset"), "accuracy": metadata["metrics"]["tflite_accuracy"]}
        if not self.data_dir:
            return {"model": model, "waiting": None, "next_span": None}
        pending, next_span = self._pending_spans()
        waiting = sum(len(files.listdir(folder)) for span in pending for label in range(10)
                      if files.isdir(folder := os.path.join(span.path, str(label))))
        return {"model": model, "waiting": waiting, "next_span": spans.source_of(next_span)}

    def add_correction(self, image: Image.Image, label: int) -> str:
        if not self.data_dir:
            raise Refused(409, "serve was started without a data dir: restart it with --data-dir to store drawings")
        _, next_span = self._pending_spans()
        span_dir = os.path.join(self.data_dir, spans.SPANS_DIR, str(next_span))
        name = f"drawn-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}"
        path = spans.add_image(span_dir, label, name, np.asarray(image.convert("L")))
        return os.path.relpath(path, self.data_dir)


def _label(query: str) -> int:
    fields = urllib.parse.parse_qs(query, keep_blank_values=True)
    if set(fields) != {"label"} or len(fields["label"]) != 1:
        raise Refused(400, f"expected exactly one field, label; got {sorted(fields) or 'none'}")
    if not re.fullmatch(r"[0-9]", fields["label"][0]):
        raise Refused(400, f"label must be one digit 0-9, got {fields['label'][0]!r}")
    return int(fields["label"][0])


class Handler(http.server.SimpleHTTPRequestHandler):
    # Module scripts and WebAssembly are refused by browsers under a generic type.
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm"}

    def __init__(self, *args, store: Store, **kwargs):
        self.store = store
        super().__init__(*args, directory=WEB_DIR, **kwargs)

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        log.info("%s %s", self.address_string(), format % args)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/api/status":
            try:
                return self._json(200, self.store.status())
            except DataError as e:  # a malformed span: the page shows it
                return self._json(500, {"error": str(e)})
        if path in LATEST_FILES:
            version_dir = serving_layout.latest_version_dir(self.store.serving_dir)
            if not version_dir:
                return self._json(404, {"error": f"no model pushed under {self.store.serving_dir} yet: run `mnist-tfx run`"})
            return self._send_file(os.path.join(version_dir, LATEST_FILES[path]))
        if path == "/":
            self.path = "/serve.html"
        return super().do_GET()

    def _send_file(self, file_path: str) -> None:
        data = files.read_bytes(file_path)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(file_path))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        try:
            if url.path not in ("/api/prepare", "/api/corrections"):
                raise Refused(404, f"no such endpoint: {url.path}")
            if self.headers.get_content_type() != "image/png":
                raise Refused(415, f"Content-Type must be image/png, got {self.headers.get_content_type()}")
            label = _label(url.query) if url.path == "/api/corrections" else None
            if url.path == "/api/prepare" and url.query:
                raise Refused(400, "this endpoint takes no fields")
            length = int(self.headers.get("Content-Length") or -1)
            if not 0 < length <= MAX_PNG_BYTES:
                raise Refused(413, f"the body must be a PNG of 1 to {MAX_PNG_BYTES} bytes, got {length}")
            image = read_png(self.rfile.read(length))
        except Refused as refused:
            self.close_connection = True  # the body may be left unread
            return self._json(refused.status, {"error": str(refused)})
        if label is None:  # the shape lets the page check it against its model's input
            prepared = handwriting.to_mnist(image)
            return self._json(200, {"pixels": prepared.ravel().tolist(), "shape": list(prepared.shape)})
        try:
            stored = self.store.add_correction(image, label)
        except Refused as refused:
            return self._json(refused.status, {"error": str(refused)})
        except DataError as e:
            return self._json(500, {"error": str(e)})
        except OSError as e:
            log.error("cannot store a correction under %s: %s", self.store.data_dir, e)
            return self._json(507, {"error": f"cannot store the drawing under {self.store.data_dir}: {e.strerror or e}; "
                                             "nothing was written"})
        log.info("stored %s", stored)
        return self._json(201, {"stored": stored, **self.store.status()})


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 resets connections when many arrive at once


def make_server(serving_dir: str, data_dir: str, host: str, port: int) -> Server:
    return Server((host, port), functools.partial(Handler, store=Store(serving_dir, data_dir)))
