"""`xexp lsp`: the language server, over stdio, on pygls (the Python LSP framework: typed
messages from lsprotocol, asyncio, a thread pool for slower requests).

Diagnostics are the compiler's errors, published when a document opens, again after a pause
in typing (DEBOUNCE_S: a keystroke cancels the pending pass), and on save with the look at local
inputs that `xexp check` makes without `--no-inputs`. A pass runs in a worker thread so requests
are answered meanwhile; a request reads the latest pass of the document, made afresh when the
text changed since; completion, asked for at nearly every keystroke, reads the latest pass
even of an earlier version (its context comes from the current text) and never waits for one.
"""

from __future__ import annotations

import asyncio
import threading

from lsprotocol import types
from pygls.lsp.server import LanguageServer

import xexp
from xexp.compiler.errors import SpecError
from xexp.lsp import completion, hover, navigation
from xexp.lsp.analysis import Analysis, analyse, filename_of
from xexp.lsp.pieces import PieceParser
from xexp.lsp.lens import LENS_STATEMENTS, plan_summary
from xexp.lsp.positions import lines_of, offset_of, span_range

DEBOUNCE_S = 0.15
SOURCE = "xexp"


class SpecServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("xexp", xexp.__version__)
        self.analyses: dict[str, tuple[int | None, Analysis]] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.lock = threading.Lock()
        self.pieces = PieceParser()  # statements parsed before, shared by every document

    def analysis(self, uri: str) -> Analysis:
        """The pass over the document's current text (made now if the text changed since the last)."""
        document = self.workspace.get_text_document(uri)
        with self.lock:
            known = self.analyses.get(uri)
        if known is not None and known[0] == document.version and known[1].text == document.source:
            return known[1]
        fresh = analyse(document.source, filename_of(uri), pieces=self.pieces)
        with self.lock:
            self.analyses[uri] = (document.version, fresh)
        return fresh

    def publish(self, uri: str, version: int | None, result: Analysis) -> None:
        diagnostics = [diagnostic(result.lines, err) for err in result.errors]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))

    async def check(self, uri: str, delay: float, inputs: bool = False) -> None:
        if delay:
            await asyncio.sleep(delay)
        document = self.workspace.get_text_document(uri)
        version, text = document.version, document.source
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.thread_pool,
                                                lambda: analyse(text, filename_of(uri), inputs=inputs, pieces=self.pieces))
        except Exception as err:  # a compiler bug: say it in the editor's log, keep serving
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Error, message=f"xexp lsp: checking {uri} failed: {type(err).__name__}: {err}"))
            return
        if self.workspace.get_text_document(uri).version != version:
            return  # typed on meanwhile: the next pass speaks for it
        with self.lock:
            self.analyses[uri] = (version, result)
        self.publish(uri, version, result)

    def schedule(self, uri: str, delay: float, inputs: bool = False) -> None:
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.ensure_future(self.check(uri, delay, inputs))


def diagnostic(lines: list[str], err: SpecError) -> types.Diagnostic:
    """One error as `xexp check` prints it: the message, and its hint on the next line."""
    message = err.message + (f"\nhint: {err.hint}" if err.hint else "")
    return types.Diagnostic(range=span_range(lines, err.span), message=message,
                            severity=types.DiagnosticSeverity.Error, source=SOURCE)


server = SpecServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: SpecServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: SpecServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, DEBOUNCE_S)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: SpecServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0, inputs=True)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: SpecServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    pending = ls.pending.pop(uri, None)
    if pending is not None:
        pending.cancel()
    with ls.lock:
        ls.analyses.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _at(result: Analysis, position: types.Position) -> tuple[int, int]:
    return offset_of(result.lines, position)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def on_hover(ls: SpecServer, params: types.HoverParams) -> types.Hover | None:
    result = ls.analysis(params.text_document.uri)
    found = hover.hover_text(result, *_at(result, params.position))
    if found is None:
        return None
    text, span = found
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
                       range=span_range(result.lines, span))


@server.feature(types.TEXT_DOCUMENT_COMPLETION,
                types.CompletionOptions(trigger_characters=["(", "[", "=", " ", ",", "{", '"']))
def on_completion(ls: SpecServer, params: types.CompletionParams) -> types.CompletionList:
    uri = params.text_document.uri
    lines = lines_of(ls.workspace.get_text_document(uri).source)
    with ls.lock:
        known = ls.analyses.get(uri)
    result = known[1] if known is not None else ls.analysis(uri)  # the latest pass, even an earlier version's
    line, column = offset_of(lines, params.position)
    return types.CompletionList(is_incomplete=False, items=completion.complete(result, lines, line - 1, column - 1))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: SpecServer, params: types.DefinitionParams) -> types.Location | None:
    result = ls.analysis(params.text_document.uri)
    span = navigation.definition(result, *_at(result, params.position))
    return types.Location(uri=params.text_document.uri, range=span_range(result.lines, span)) if span else None


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: SpecServer, params: types.ReferenceParams) -> list[types.Location]:
    result = ls.analysis(params.text_document.uri)
    spans = navigation.references(result, *_at(result, params.position), params.context.include_declaration)
    return [types.Location(uri=params.text_document.uri, range=span_range(result.lines, s)) for s in spans]


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_symbols(ls: SpecServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
    return navigation.document_symbols(ls.analysis(params.text_document.uri))


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def on_formatting(ls: SpecServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
    """`xexp fmt`: one edit replacing the document; none while it has syntax errors (the
    diagnostics say where)."""
    from xexp.compiler.fmt import format_text

    document = ls.workspace.get_text_document(params.text_document.uri)
    try:
        formatted = format_text(document.source, filename_of(params.text_document.uri))
    except SpecError:
        return None
    if formatted == document.source:
        return []
    lines = document.source.split("\n")
    end = types.Position(line=len(lines), character=0)
    return [types.TextEdit(range=types.Range(start=types.Position(line=0, character=0), end=end),
                           new_text=formatted)]


@server.thread()
@server.feature(types.TEXT_DOCUMENT_CODE_LENS)
def on_code_lens(ls: SpecServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    """The node counts of `xexp plan` above `target` and `intermediate` (lowering runs in a
    worker thread: a large grid takes longer than a keystroke)."""
    from xexp.compiler import ast

    result = ls.analysis(params.text_document.uri)
    summary = plan_summary(result)
    if summary is None:
        return []
    return [types.CodeLens(range=span_range(result.lines, st.name.span),
                           command=types.Command(title=f"plan: {summary}", command=""))
            for st in result.module.statements
            if isinstance(st, ast.Assignment) and st.name.name in LENS_STATEMENTS]


def main() -> None:
    server.start_io()
