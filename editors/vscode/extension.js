// Starts `xexp lsp` (the command is the setting xexp.server.command) for .xexp files.
// Everything the editor shows beyond colouring comes from that server, i.e. from xexp's compiler.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("xexp").get("server.command", ["xexp", "lsp"]);
  client = new LanguageClient(
    "xexp",
    "xexp language server",
    { command, args },
    { documentSelector: [{ scheme: "file", language: "xexp" }, { scheme: "untitled", language: "xexp" }] },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
