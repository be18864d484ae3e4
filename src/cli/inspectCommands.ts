/**
 * The inspection commands: `dump` (text, DOT, SVG, JSON or HTML of a model module's
 * forward or gradient graph, before or after optimization), `summary` (layers, shapes,
 * params, FLOPs, peak memory) and `check` (validate a serialized graph and run the
 * runtime shape checks). Each returns an exit code; errors are thrown as CliError,
 * UsageError or the library's typed errors and reported by `main.ts`.
 */
import { readFileSync } from "node:fs";
import * as E from "fp-ts/lib/Either.js";
import { Op } from "../ops.js";
import type { Graph } from "../graph/graph.js";
import { graphToText } from "../graph/text.js";
import { graphToDot } from "../graph/dot.js";
import { graphFromJson, graphToJson, formatGraphJsonError } from "../graph/json.js";
import { compactShape } from "../graph/shapes.js";
import { optimizeGraph } from "../../compiler/pipeline.js";
import { verifyGraph } from "../../compiler/passes/verifyGraph.js";
import { orThrow } from "../../compiler/errors.js";
import { compile } from "../../runtime/program.js";
import { graphToSvg } from "../inspect/svg.js";
import { graphToHtml } from "../inspect/html.js";
import { bindingsFor, formatSummary, summarizeGraph, zeroFeeds } from "../inspect/summary.js";
import { choiceOption, dimsOption, flag, parseCommand, stringOption } from "./args.js";
import { writeOutput, type CliIo, type Command } from "./command.js";
import { CliError } from "./errors.js";
import { gradientGraph, loadModelModule, type ModelModule } from "./modelModule.js";

const MODULE_HELP = `A model module (TypeScript or JavaScript) exports \`inputs\` (name -> input(...) tensor or
{ shape, dtype }, e.g. { x: { shape: ["batch", 784] } }) and \`model\` (a function of the
input tensors returning a tensor or a record of tensors), or instead \`graph\`; optionally
\`loss\` ((outputs, inputs) => scalar), \`params\` (what --grad differentiates) and \`name\`.
TypeScript modules are loaded through tsx. See examples/models/.`;

const graphOf = (m: ModelModule, grad: boolean, optimized: boolean): Graph => {
  const g = grad ? gradientGraph(m) : m.forward;
  return optimized ? orThrow(optimizeGraph(g)).graph : g;
};

const FORMATS = ["text", "dot", "svg", "json", "html"] as const;

export const dumpCommand: Command = {
  name: "dump",
  summary: "print or write a model's graph (text, dot, svg, json, html)",
  help: `Usage: typegrad dump <model module> [--format text|dot|svg|json|html] [-o file] [--grad] [--optimized]

Prints (or writes with -o) the forward graph of a model module: its outputs and its loss.
With --grad, the gradient graph instead: the loss and grad:<param> for every param.

Options:
  --format <format>    text (default), dot, svg (Graphviz in WebAssembly), json, html
                       (a self-contained page: collapsible layers, click a node for details)
  -o, --output <file>  write to a file instead of standard output
  --grad               the gradient graph of the loss with respect to the params
  --optimized          after the optimizer (CSE, constant folding, algebraic rules, DCE)
  --no-locations       leave source lines out
  -h, --help           show this help

${MODULE_HELP}

Examples:
  typegrad dump examples/models/mlp.ts
  typegrad dump examples/models/mnist-mlp.ts --format svg -o mnist.svg
  typegrad dump examples/models/mnist-mlp.ts --grad --optimized --format html -o grad.html
`,
  run: async (argv, io) => {
    const p = parseCommand("dump", argv, { format: { type: "string" }, output: { type: "string", short: "o" }, grad: { type: "boolean" }, optimized: { type: "boolean" }, "no-locations": { type: "boolean" } }, { min: 1, max: 1 });
    if (flag(p, "help")) return help(io, dumpCommand);
    const format = choiceOption(p, "format", FORMATS, "text", "dump");
    const m = await loadModelModule(p.positionals[0]!);
    const g = graphOf(m, flag(p, "grad"), flag(p, "optimized"));
    const locations = !flag(p, "no-locations");
    const layout = { locations, ...(m.modelFunction === undefined ? {} : { modelFunction: m.modelFunction }) };
    const text =
      format === "text"
        ? graphToText(g, { locations })
        : format === "dot"
          ? graphToDot(g, layout)
          : format === "json"
            ? graphToJson(g, { locations })
            : format === "svg"
              ? await graphToSvg(g, layout)
              : await graphToHtml(g, layout);
    writeOutput(io, stringOption(p, "output"), text);
    return 0;
  },
};

export const summaryCommand: Command = {
  name: "summary",
  summary: "layers, output shapes, params, FLOPs and peak memory of a model",
  help: `Usage: typegrad summary <model module> [--dim name=size ...] [--grad] [--optimized] [--layers-only] [--json]

Prints a table of the model's layers (the functions its model function calls, one row per
call) with their ops below them, each with its output type, parameter count and FLOPs,
then the totals and the compiled program's peak memory.

FLOPs are counted for the bound dims (default every symbolic dim = 1, i.e. per example):
matmul 2·M·K·N, elementwise ops 1 per element, reductions 1 per input element,
logsumexp 3, softmax and logSoftmax 5 per element, data movement 0.
Peak memory is the arena of the program compile() builds for those dims (intermediates;
params and fed inputs are not in it).

Options:
  --dim name=size   bind a symbolic dim (repeatable), e.g. --dim batch=64
  --grad            summarize the gradient graph instead
  --optimized       summarize the graph after the optimizer
  --layers-only     one row per layer, without its ops
  --json            the summary as JSON
  -h, --help        show this help

${MODULE_HELP}
`,
  run: async (argv, io) => {
    const p = parseCommand("summary", argv, { dim: { type: "string", multiple: true }, grad: { type: "boolean" }, optimized: { type: "boolean" }, "layers-only": { type: "boolean" }, json: { type: "boolean" } }, { min: 1, max: 1 });
    if (flag(p, "help")) return help(io, summaryCommand);
    const dims = dimsOption(p, "summary");
    const m = await loadModelModule(p.positionals[0]!);
    const g = graphOf(m, flag(p, "grad"), flag(p, "optimized"));
    const s = summarizeGraph(g, { dims, ...(m.modelFunction === undefined ? {} : { modelFunction: m.modelFunction }) });
    io.stdout(flag(p, "json") ? `${JSON.stringify(s, null, 2)}\n` : `${formatSummary(s, { ops: !flag(p, "layers-only") })}\n`);
    return 0;
  },
};

export const checkCommand: Command = {
  name: "check",
  summary: "validate a serialized graph (JSON) and run the runtime shape checks",
  help: `Usage: typegrad check <graph.json> [--dim name=size ...]

Validates a graph written by graphToJson or \`typegrad dump --format json\`, with the
library's messages: the document's structure (an error names the JSON path of the bad
field), every node's shape and dtype rule, the graph's well-formedness, then the runtime
shape checks with every symbolic dim bound (default 1; --dim batch=64 to choose).
Exit code 0 when the graph is valid, 1 with the first problem otherwise.

Options:
  --dim name=size   bind a symbolic dim for the runtime checks (repeatable)
  -h, --help        show this help
`,
  run: async (argv, io) => {
    const p = parseCommand("check", argv, { dim: { type: "string", multiple: true } }, { min: 1, max: 1 });
    if (flag(p, "help")) return help(io, checkCommand);
    const file = p.positionals[0]!;
    const dims = dimsOption(p, "check");
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
    }
    const parsed = graphFromJson(text);
    if (E.isLeft(parsed)) throw new CliError(`${file}: ${formatGraphJsonError(parsed.left)}`);
    const g = parsed.right;
    const verified = verifyGraph(g);
    if (E.isLeft(verified)) throw new CliError(`${file}: ${verified.left.message}`);
    const bindings = bindingsFor(g, dims);
    // plan() binds the dims and runs every node's shape rule on concrete shapes, without computing anything.
    compile(g, { optimize: false }).plan(zeroFeeds(g, bindings));
    const leaves = (op: Op): string => g.nodes.filter((n) => n.op === op).map((n) => `${n.op === Op.Input || n.op === Op.Param ? n.params.name : ""}: ${n.dtype}${compactShape(n.shape)}`).join(", ") || "none";
    const bound = [...bindings].map(([k, v]) => `${k}=${v}`).join(", ");
    io.stdout(
      [
        `${file}: ok, graph '${g.name}' with ${g.nodes.length} nodes`,
        `  inputs:  ${leaves(Op.Input)}`,
        `  params:  ${g.nodes.filter((n) => n.op === Op.Param).length}`,
        `  outputs: ${g.outputs.map((o, i) => `${g.outputNames[i]}: ${o.dtype}${compactShape(o.shape)}`).join(", ")}`,
        `  shapes check out${bound === "" ? "" : ` with ${bound}`}`,
        "",
      ].join("\n"),
    );
    return 0;
  },
};

const help = (io: CliIo, c: Command): number => {
  io.stdout(c.help);
  return 0;
};
