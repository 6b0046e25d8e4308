"""A real `xexp lsp` process driven over stdio by pygls's own LSP client, behind a small
synchronous face for tests: the client's asyncio loop runs in a thread of its own."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

TIMEOUT_S = 60


class LspSession:
    def __init__(self, cwd: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = LanguageClient("xexp-tests", "1")
        self.diagnostics: dict[str, list[types.PublishDiagnosticsParams]] = {}
        self.arrived = threading.Condition()
        self.versions: dict[str, int] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _published(params: types.PublishDiagnosticsParams) -> None:
            with self.arrived:
                self.diagnostics.setdefault(params.uri, []).append(params)
                self.arrived.notify_all()

        self.run(self.client.start_io(sys.executable, "-m", "xexp.cli", "lsp", cwd=str(cwd)))
        self.run(self.client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=Path(cwd).resolve().as_uri())))
        self.client.initialized(types.InitializedParams())

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(TIMEOUT_S)

    def call(self, function, *args):
        """A client call that must run on the client's loop (notifications write from there)."""
        async def inside():
            return function(*args)
        return self.run(inside())

    # -- documents ---------------------------------------------------------------------------

    def open(self, uri: str, text: str) -> None:
        self.versions[uri] = 1
        self.call(self.client.text_document_did_open, types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="xexp", version=1, text=text)))

    def change(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        self.call(self.client.text_document_did_change, types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))

    def save(self, uri: str) -> None:
        self.call(self.client.text_document_did_save, types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))

    def wait_diagnostics(self, uri: str, count: int = 1) -> list[types.Diagnostic]:
        """The diagnostics of the `count`-th publication for `uri` (waiting for it)."""
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.diagnostics.get(uri, [])) >= count, TIMEOUT_S)
            assert ok, f"no diagnostics #{count} for {uri}"
            return list(self.diagnostics[uri][count - 1].diagnostics)

    def wait_version(self, uri: str, version: int) -> list[types.Diagnostic]:
        """The diagnostics published for `version` of the document (waiting for them)."""
        def found():
            return next((p for p in self.diagnostics.get(uri, []) if p.version == version), None)
        with self.arrived:
            assert self.arrived.wait_for(lambda: found() is not None, TIMEOUT_S), f"no diagnostics for {uri} v{version}"
            return list(found().diagnostics)

    def published(self, uri: str) -> int:
        with self.arrived:
            return len(self.diagnostics.get(uri, []))

    # -- requests ----------------------------------------------------------------------------

    def _doc(self, uri: str) -> types.TextDocumentIdentifier:
        return types.TextDocumentIdentifier(uri=uri)

    def hover(self, uri: str, line: int, character: int) -> types.Hover | None:
        return self.run(self.client.text_document_hover_async(types.HoverParams(
            text_document=self._doc(uri), position=types.Position(line=line, character=character))))

    def completion(self, uri: str, line: int, character: int) -> list[types.CompletionItem]:
        result = self.run(self.client.text_document_completion_async(types.CompletionParams(
            text_document=self._doc(uri), position=types.Position(line=line, character=character))))
        if result is None:
            return []
        return list(result.items if isinstance(result, types.CompletionList) else result)

    def definition(self, uri: str, line: int, character: int):
        return self.run(self.client.text_document_definition_async(types.DefinitionParams(
            text_document=self._doc(uri), position=types.Position(line=line, character=character))))

    def references(self, uri: str, line: int, character: int) -> list[types.Location]:
        return self.run(self.client.text_document_references_async(types.ReferenceParams(
            text_document=self._doc(uri), position=types.Position(line=line, character=character),
            context=types.ReferenceContext(include_declaration=True)))) or []

    def symbols(self, uri: str):
        return self.run(self.client.text_document_document_symbol_async(types.DocumentSymbolParams(
            text_document=self._doc(uri)))) or []

    def formatting(self, uri: str) -> list[types.TextEdit]:
        return self.run(self.client.text_document_formatting_async(types.DocumentFormattingParams(
            text_document=self._doc(uri), options=types.FormattingOptions(tab_size=2, insert_spaces=True)))) or []

    def code_lens(self, uri: str) -> list[types.CodeLens]:
        return self.run(self.client.text_document_code_lens_async(types.CodeLensParams(
            text_document=self._doc(uri)))) or []

    def close(self) -> None:
        try:
            self.run(self.client.shutdown_async(None))
            self.client.exit(None)
            self.run(self.client.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(TIMEOUT_S)
