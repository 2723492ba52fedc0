"""A small client that speaks Streamlit's own websocket protocol, as the browser does, so that one
process can drive dozens of real sessions (bench/load_test.py, tests/test_load_client.py).

What the browser does, and this client with it (Streamlit 1.67, protobufs from `streamlit.proto`):
- GET the page, then `/_stcore/health`, whose response sets the XSRF cookie (`_streamlit_xsrf`);
- open the websocket `/_stcore/stream` with the subprotocols `streamlit, <xsrf token>` (the second
  entry is how the browser passes the token) and the page's Origin;
- send a `BackMsg.rerun_script` (a `ClientState`: query string, page, widget states, fragment id);
- read `ForwardMsg`s: `new_session` (the session id and pages), `delta`s (elements, each with the
  fragment it belongs to), `file_urls_response`, `script_finished`;
- a widget's value travels as a `WidgetState` in the next rerun: a custom component (v2) sends all
  its state keys as one JSON object (`json_value`), e.g. the drag map's `{"cursor": {uv, seq,
  mount}}`, and reruns only the fragment it belongs to;
- an upload asks for URLs (`BackMsg.file_urls_request`), PUTs the file to
  `/_stcore/upload_file/<session>/<file id>` (multipart, `X-Xsrftoken` header), then reruns with the
  uploader's `file_uploader_state_value`.

HTTP is a few lines over asyncio streams (no thread per request), so the client costs little beside
the server it measures. No Streamlit server code is imported: only the protobuf messages.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

XSRF_COOKIE = "_streamlit_xsrf"
FINISHED = ForwardMsg.ScriptFinishedStatus
DONE = (FINISHED.FINISHED_SUCCESSFULLY, FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


class ProtocolError(Exception):
    """The server said something this client did not expect (or nothing in time)."""


async def http(url: str, method: str = "GET", headers: dict | None = None, body: bytes = b"",
               timeout: float = 60.0) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 request on its own connection: (status, headers (lower-case, last wins), body)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {path or '/'} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
             f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]

    async def go():
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
        head, _, rest = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        hdrs, cookies = {}, []
        for line in header_lines:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
            if k.strip().lower() == "set-cookie":
                cookies.append(v.strip())
        hdrs["set-cookie"] = cookies
        if hdrs.get("transfer-encoding", "").lower() == "chunked":
            rest = _dechunk(rest)
        return int(status_line.split()[1]), hdrs, rest

    return await asyncio.wait_for(go(), timeout)


def _dechunk(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        j = data.index(b"\r\n", i)
        n = int(data[i:j].split(b";")[0], 16)
        if n == 0:
            break
        out += data[j + 2:j + 2 + n]
        i = j + 2 + n + 2
    return bytes(out)


def multipart(field_name: str, filename: str, content_type: str, data: bytes) -> tuple[str, bytes]:
    boundary = "----lp" + secrets.token_hex(12)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field_name}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").encode() + data \
        + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


@dataclass
class Element:
    """One element of the page as the last delta at its place described it."""
    kind: str                   # the Element oneof: "bidi_component", "file_uploader", "imgs", ...
    proto: object               # the element's message
    fragment_id: str
    received: float             # time.monotonic() when its delta arrived


@dataclass
class Run:
    """What one rerun produced: when it finished and how, and its errors."""
    sent: float
    finished: float | None = None
    status: int | None = None
    errors: list = field(default_factory=list)


class Session:
    """One Streamlit session over one websocket. Use `await Session.open(base, page)`."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.ws = None
        self.session_id = ""
        self.pages: dict[str, str] = {}          # url path ("" = default page) -> page_script_hash
        self.page_hash = ""
        self.elements: dict[tuple, Element] = {}
        self.widgets: dict[str, object] = {}     # widget id -> WidgetState we keep sending
        self.errors: list[str] = []              # everything that went wrong, in words
        self.cookie = ""
        self.xsrf = ""
        self.media_failures = 0
        self.queue_notes: list[str] = []         # "Waiting: N ahead of you" notes seen (GAN inversions)
        self.media_loaded = 0
        self._fetched_once: set[str] = set()     # the app's immutable /lp-decoder/ data, fetched once
        self._reader = None
        self._runs: list[Run] = []
        self._file_urls: dict[str, asyncio.Future] = {}
        self._changed = asyncio.Event()
        self._closed = False
        self._auto: dict[str, asyncio.Task] = {}    # fragment id -> its timer (st.fragment(run_every=))
        self.auto_reruns = 0

    # ---- connection ------------------------------------------------------------------------

    @classmethod
    async def open(cls, base: str, page: str = "", query: str = "", timeout: float = 120.0) -> "Session":
        """GET the page and /_stcore/health (for the XSRF cookie), open the websocket and run the page once (waits for
        the run to finish)."""
        s = cls(base)
        jar: dict[str, str] = {}            # every cookie set, as a browser keeps them: behind a load
                                            # balancer its affinity cookie keeps this client on one replica

        def keep(headers):
            for c in headers["set-cookie"]:
                name, _, rest = c.partition("=")
                jar[name.strip()] = rest.split(";")[0]
            return "; ".join(f"{k}={v}" for k, v in jar.items())

        status, headers, _ = await http(f"{s.base}/{page}", timeout=timeout)
        if status != 200:
            raise ProtocolError(f"GET /{page}: HTTP {status}")
        s.cookie = keep(headers)
        # The browser checks /_stcore/health before it connects: that response sets the XSRF cookie.
        status, headers, _ = await http(f"{s.base}/_stcore/health", timeout=timeout,
                                        headers={"Cookie": s.cookie} if s.cookie else None)
        if status != 200:
            raise ProtocolError(f"GET /_stcore/health: HTTP {status}")
        s.cookie = keep(headers)
        s.xsrf = jar.get(XSRF_COOKIE, "")
        ws_url = "ws" + s.base[len("http"):] + "/_stcore/stream"
        protocols = ["streamlit"] + ([s.xsrf] if s.xsrf else [])
        s.ws = await websockets.connect(ws_url, subprotocols=protocols, origin=s.base,
                                        additional_headers={"Cookie": s.cookie} if s.cookie else {},
                                        max_size=None, open_timeout=timeout, ping_interval=None)
        s._reader = asyncio.create_task(s._read())
        await s.rerun(page_name=page, query=query, timeout=timeout)
        return s

    async def close(self) -> None:
        self._closed = True
        for task in self._auto.values():
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):     # noqa: BLE001 - closing anyway
                pass

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._handle(msg)
                self._changed.set()
        except websockets.ConnectionClosed as e:
            if not self._closed:
                self.errors.append(f"websocket closed by the server: {e}")
        except Exception as e:                                # noqa: BLE001 - reported, not raised
            self.errors.append(f"reading the websocket: {type(e).__name__}: {e}")
        finally:
            self._changed.set()

    def _handle(self, msg: ForwardMsg) -> None:
        now = time.monotonic()
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            ns = msg.new_session
            self.session_id = ns.initialize.session_id or self.session_id
            self._pages(ns.app_pages)
            self.page_hash = ns.page_script_hash
        elif kind == "navigation":
            self._pages(msg.navigation.app_pages)
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name!r}")
        elif kind == "delta":
            delta = msg.delta
            which = delta.WhichOneof("type")
            if which == "new_element":
                el = delta.new_element
            elif which == "new_transient":
                return
            else:
                return
            etype = el.WhichOneof("type")
            self.elements[tuple(msg.metadata.delta_path)] = Element(etype, getattr(el, etype),
                                                                    delta.fragment_id, now)
            if etype == "exception":
                self.errors.append(f"exception on the page: {el.exception.type}: {el.exception.message}")
            elif etype == "alert" and el.alert.format == 1:        # Alert.Format.ERROR: st.error
                self.errors.append(f"st.error on the page: {el.alert.body[:200]}")
            elif etype == "alert" and el.alert.body.startswith("Waiting:"):
                self.queue_notes.append(el.alert.body)              # playground.waiting's position
        elif kind == "file_urls_response":
            fut = self._file_urls.pop(msg.file_urls_response.response_id, None)
            if fut is not None and not fut.done():
                fut.set_result(msg.file_urls_response)
        elif kind == "auto_rerun":
            self._auto_rerun(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                task = self._auto.pop(fid, None)
                if task is not None:
                    task.cancel()
        elif kind == "script_finished":
            for run in self._runs:
                if run.finished is None:
                    run.finished, run.status = now, msg.script_finished
                    break

    def _auto_rerun(self, fragment_id: str, interval: float) -> None:
        """`st.fragment(run_every=...)`: the browser, not the server, reruns the fragment on a timer."""
        old = self._auto.pop(fragment_id, None)
        if old is not None:
            old.cancel()

        async def tick():
            while not self._closed:
                await asyncio.sleep(interval)
                msg = BackMsg()
                msg.rerun_script.page_script_hash = self.page_hash
                msg.rerun_script.fragment_id = fragment_id
                msg.rerun_script.is_auto_rerun = True
                for w in self.widgets.values():
                    msg.rerun_script.widget_states.widgets.add().CopyFrom(w)
                try:
                    await self.ws.send(msg.SerializeToString())
                except websockets.ConnectionClosed:
                    return
                self.auto_reruns += 1
        self._auto[fragment_id] = asyncio.create_task(tick())

    def _pages(self, app_pages) -> None:
        for p in app_pages:
            self.pages[p.url_pathname] = p.page_script_hash
            if p.is_default:
                self.pages[""] = p.page_script_hash

    # ---- what the browser sends -------------------------------------------------------------

    async def send_rerun(self, page_name: str | None = None, query: str = "",
                         fragment_id: str = "") -> Run:
        """Send a rerun with every widget value this client keeps; returns its Run (not awaited)."""
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = query
        if page_name is not None:
            cs.page_script_hash = self.pages.get(page_name, "")
            cs.page_name = page_name
        else:
            cs.page_script_hash = self.page_hash
        if fragment_id:
            cs.fragment_id = fragment_id
        for w in self.widgets.values():
            cs.widget_states.widgets.add().CopyFrom(w)
        for wid in [k for k, w in self.widgets.items() if w.WhichOneof("value") == "trigger_value"]:
            del self.widgets[wid]              # a click is sent once, as the browser does
        run = Run(time.monotonic())
        # A rerun sent while another runs ends the earlier one early (FINISHED_EARLY_FOR_RERUN);
        # runs are matched to script_finished messages in order.
        self._runs = [r for r in self._runs if r.finished is None] + [run]
        self._changed.clear()
        await self.ws.send(msg.SerializeToString())
        return run

    async def wait(self, predicate, timeout: float, what: str):
        """Wait until predicate() is true (checked after every message); raises ProtocolError."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if self.ws is None or self._reader.done():
                raise ProtocolError(f"{what}: the websocket is closed ({'; '.join(self.errors[-2:])})")
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError(f"{what}: nothing after {timeout:.0f} s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def finish(self, run: Run, timeout: float, what: str = "rerun") -> Run:
        await self.wait(lambda: run.finished is not None, timeout, what)
        if run.status not in DONE:
            raise ProtocolError(f"{what}: the run ended with status {run.status}")
        return run

    async def rerun(self, page_name: str | None = None, query: str = "", fragment_id: str = "",
                    timeout: float = 120.0) -> Run:
        if page_name is not None and page_name != self._page_name():
            self.elements.clear()              # the browser forgets the old page's elements...
            self.widgets.clear()               # ... and its widgets' values
            for task in self._auto.values():   # ... and its fragments' timers
                task.cancel()
            self._auto.clear()
        run = await self.send_rerun(page_name, query, fragment_id)
        return await self.finish(run, timeout, f"run of page {page_name!r}" if page_name is not None
                                 else "rerun")

    def _page_name(self) -> str | None:
        for name, h in self.pages.items():
            if h == self.page_hash and name:
                return name
        return None

    async def goto(self, page: str, timeout: float = 120.0) -> Run:
        """Switch to another page of the app (its url path), as a click in the sidebar does."""
        run = await self.rerun(page_name=page, timeout=timeout)
        self.page_hash = self.pages.get(page, self.page_hash)
        return run

    # ---- the page's elements ----------------------------------------------------------------

    def find(self, kind: str, pred=lambda proto: True) -> list[Element]:
        return [e for e in self.elements.values() if e.kind == kind and pred(e.proto)]

    def component(self, name_part: str) -> Element | None:
        found = self.find("bidi_component", lambda p: name_part in p.component_name)
        return max(found, key=lambda e: e.received) if found else None

    @staticmethod
    def component_data(el: Element) -> dict:
        return json.loads(el.proto.json) if el.proto.WhichOneof("data") == "json" else {}

    def set_json_state(self, widget_id: str, state: dict) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        w = WidgetState(id=widget_id)
        w.json_value = json.dumps(state)
        self.widgets[widget_id] = w

    def set_double_array(self, widget_id: str, values) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        w = WidgetState(id=widget_id)
        w.double_array_value.data.extend(float(v) for v in values)
        self.widgets[widget_id] = w

    def click(self, widget_id: str) -> None:
        """A button press, sent with the next rerun."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        self.widgets[widget_id] = WidgetState(id=widget_id, trigger_value=True)

    def media_urls(self) -> list[str]:
        urls = []
        for e in self.find("imgs"):
            urls += [i.url for i in e.proto.imgs if i.url.startswith("/media/")]
        return urls

    def component_urls(self) -> list[str]:
        """The data URLs the drag map's script fetches (points, atlas, decoder weights, the map's inverse)
        that this session has not fetched yet: they are immutable, so a browser fetches each once."""
        urls = []
        for e in self.find("bidi_component"):
            data = self.component_data(e)
            for u in (data.get("points_url"), data.get("atlas"), (data.get("decoder") or {}).get("url"),
                      (data.get("inverse") or {}).get("url")):
                if isinstance(u, str) and u.startswith("/lp-decoder/") and u not in self._fetched_once:
                    self._fetched_once.add(u)
                    urls.append(u)
        return urls

    async def load_media(self, timeout: float = 60.0) -> int:
        """Fetch every /media/ image on the page and the drag map's data not fetched yet, as the
        browser does; failures are errors."""
        urls = self.media_urls() + self.component_urls()
        results = await asyncio.gather(*(http(self.base + u, timeout=timeout,
                                                    headers={"Cookie": self.cookie} if self.cookie else None)
                                               for u in urls),
                                       return_exceptions=True)
        for u, r in zip(urls, results):
            if isinstance(r, Exception) or r[0] != 200 or not r[2]:
                self.media_failures += 1
                self.errors.append(f"media {u}: {r if isinstance(r, Exception) else 'HTTP ' + str(r[0])}")
            else:
                self.media_loaded += 1
        return len(urls)

    # ---- uploads -------------------------------------------------------------------------------

    async def upload(self, uploader_id: str, name: str, data: bytes, content_type: str = "image/png",
                     timeout: float = 60.0) -> Run:
        """Upload one file into a st.file_uploader the way the browser does, and rerun."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        request_id = uuid.uuid4().hex
        fut = asyncio.get_running_loop().create_future()
        self._file_urls[request_id] = fut
        msg = BackMsg()
        msg.file_urls_request.request_id = request_id
        msg.file_urls_request.file_names.append(name)
        msg.file_urls_request.session_id = self.session_id
        await self.ws.send(msg.SerializeToString())
        resp = await asyncio.wait_for(fut, timeout)
        if resp.error_msg or not resp.file_urls:
            raise ProtocolError(f"file URLs refused: {resp.error_msg or 'none given'}")
        urls = resp.file_urls[0]
        ctype, body = multipart("file", name, content_type, data)
        status, _, text = await http(self.base + urls.upload_url, "PUT", {
            "Content-Type": ctype, "X-Xsrftoken": self.xsrf, "Cookie": self.cookie,
            "Origin": self.base}, body, timeout)
        if status not in (200, 204):
            raise ProtocolError(f"upload PUT {urls.upload_url}: HTTP {status} {text[:200]!r}")
        w = WidgetState(id=uploader_id)
        info = w.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, name, len(data)
        info.file_urls.CopyFrom(urls)
        self.widgets[uploader_id] = w
        return await self.rerun(timeout=timeout)
