/**
 * `typegrad train <example>` and `typegrad export <example>` for the example models.
 *
 * train: builds the example's trainer (checked with `--checked`: a NaN or an infinity
 * stops training with a report of the first non-finite node), optionally resumes from a
 * checkpoint, trains with `fit` saving the checkpoint after every epoch, and on SIGINT
 * (or `io.signal`) stops after the current step, saves a final checkpoint and exits with
 * code 130. export: writes the example's inference model with the params of a checkpoint
 * as an ONNX file.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createTrainer, type Trainer, type TrainState } from "../train/trainer.js";
import { fit } from "../train/fit.js";
import { loadTrainState } from "../train/trainCheckpoint.js";
import { exportCheckpointOnnx } from "../deploy.js";
import { checkedTrainer } from "../inspect/checkedTraining.js";
import { flag, parseCommand, positiveIntOption, positiveNumberOption, stringOption } from "./args.js";
import { writeOutput, type CliIo, type Command } from "./command.js";
import { CliError, EXIT, UsageError } from "./errors.js";
import { TRAIN_EXAMPLES, exampleNamed } from "./trainExamples.js";

const exampleList = TRAIN_EXAMPLES.map((e) => `  ${e.name.padEnd(7)}${e.description}`).join("\n");

const pct = (x: number | undefined): string => (x === undefined ? "" : `${(x * 100).toFixed(1)}%`);

export const trainCommand: Command = {
  name: "train",
  summary: "train an example model (seed, iris, mnist) with checkpoints",
  help: `Usage: typegrad train <example> [--epochs n] [--checkpoint file] [--resume file] [--checked] [--lr x] [--seed n] [--rows n]

Trains an example model, saving a checkpoint (params, optimizer state, step, epoch, data
order) after every epoch. Ctrl-C (SIGINT) stops after the current step, saves a final
checkpoint and exits with code 130; --resume continues from it (an interrupted epoch
starts over with the params reached so far).

Examples:
${exampleList}

Options:
  --epochs <n>         total epochs (default: the example's); a resumed run trains up to n
  --checkpoint <file>  where to save (default out/<example>.safetensors)
  --resume <file>      continue from a checkpoint saved for the same example
  --checked            stop at the first NaN/Inf with a report of the node that made it
                       (op, shapes, source line, gradient origin, input ranges)
  --lr <x>             a constant learning rate instead of the example's
  --seed <n>           seed of the initial params and data order (default 0)
  --rows <n>           training rows (mnist; default 8000)
  -h, --help           show this help
`,
  run: async (argv, io) => {
    const p = parseCommand("train", argv, {
      epochs: { type: "string" }, checkpoint: { type: "string" }, resume: { type: "string" }, checked: { type: "boolean" },
      lr: { type: "string" }, seed: { type: "string" }, rows: { type: "string" },
    }, { min: 1, max: 1 });
    if (flag(p, "help")) return help(io, trainCommand);
    const example = exampleNamed(p.positionals[0]!);
    const seedRaw = stringOption(p, "seed");
    if (seedRaw !== undefined && !/^\d+$/.test(seedRaw)) throw new UsageError(`--seed must be a non-negative integer, got '${seedRaw}'`, "train");
    const seed = seedRaw === undefined ? 0 : Number(seedRaw);
    const epochsOption = positiveIntOption(p, "epochs", "train");
    const rows = positiveIntOption(p, "rows", "train");
    if (rows !== undefined && example.name !== "mnist") throw new UsageError("--rows applies to the mnist example only", "train");
    const lr = positiveNumberOption(p, "lr", "train");
    const checkpoint = stringOption(p, "checkpoint") ?? join("out", `${example.name}.safetensors`);
    const resume = stringOption(p, "resume");
    if (resume !== undefined && !existsSync(resume)) throw new CliError(`cannot resume: no checkpoint file ${resume}`);

    const ex = await example.prepare({ seed, ...(rows === undefined ? {} : { rows }), ...(epochsOption === undefined ? {} : { epochs: epochsOption }) });
    const epochs = epochsOption ?? ex.epochs;
    const base = createTrainer({ loss: ex.loss, params: ex.params, optimizer: ex.optimizer, learningRate: lr ?? ex.learningRate, metrics: ex.metrics, name: `${example.name}Step` });
    const trainer: Trainer = flag(p, "checked") ? checkedTrainer(base) : base;
    const fresh = trainer.init(seed);
    const start: TrainState = resume === undefined ? fresh : loadTrainState(resume, trainer, fresh);
    if (resume !== undefined) io.stdout(`resumed from ${resume}: step ${start.step}, ${start.epoch} epochs done\n`);
    if (start.epoch >= epochs) {
      io.stdout(`already trained for ${start.epoch} epochs (--epochs ${epochs}); nothing to do\n`);
      return EXIT.ok;
    }
    io.stdout(`training ${example.name}: epochs ${start.epoch + 1}..${epochs}, batch ${ex.batchSize}, ${ex.train.features.rows} rows${flag(p, "checked") ? ", checked for NaN/Inf" : ""}\n`);

    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    process.on("SIGINT", onSigint);
    const onAbort = (): void => controller.abort();
    io.signal?.addEventListener("abort", onAbort);
    try {
      const result = await fit(
        trainer,
        start,
        { epochs, batchSize: ex.batchSize, train: ex.train, ...(ex.validation === undefined ? {} : { validation: ex.validation }), feeds: ex.feeds, ...(ex.evaluator === undefined ? {} : { evaluator: ex.evaluator }), signal: controller.signal },
        {
          checkpoint: { path: checkpoint, metadata: { example: example.name } },
          onEvent: (e) => {
            if (e.kind !== "epoch") return;
            const parts = [`loss ${e.trainLoss.toPrecision(4)}`];
            if (e.trainAccuracy !== undefined) parts.push(`train accuracy ${pct(e.trainAccuracy)}`);
            if (e.validationAccuracy !== undefined) parts.push(`validation accuracy ${pct(e.validationAccuracy)}`);
            io.stdout(`epoch ${e.epoch}/${epochs}: ${parts.join(", ")} (${e.seconds.toFixed(2)} s)\n`);
          },
        },
      );
      const s = result.state;
      if (result.stoppedBy === "aborted") {
        io.stdout(`interrupted: saved ${checkpoint} at step ${s.step} (${s.epoch} epochs done); continue with --resume ${checkpoint}\n`);
        return EXIT.interrupted;
      }
      if (ex.test !== undefined && ex.evaluator !== undefined) {
        const test = ex.evaluator.evaluate(s.params, ex.test);
        io.stdout(`test: loss ${test.loss.toPrecision(4)}${test.accuracy === undefined ? "" : `, accuracy ${pct(test.accuracy)}`} on ${test.rows} rows\n`);
      }
      io.stdout(`saved ${checkpoint} (step ${s.step}, ${s.epoch} epochs)\n`);
      return EXIT.ok;
    } finally {
      process.off("SIGINT", onSigint);
      io.signal?.removeEventListener("abort", onAbort);
    }
  },
};

export const exportCommand: Command = {
  name: "export",
  summary: "export a trained example model to ONNX",
  help: `Usage: typegrad export <example> --checkpoint file -o model.onnx

Writes the example's inference model (its logits, or the output of the seed network)
as an ONNX model (opset 18) whose weights are the params of the checkpoint, e.g. one
written by \`typegrad train\`. Load it with ONNX Runtime or any ONNX engine.

Examples:
${exampleList}

Options:
  --checkpoint <file>  a checkpoint saved by typegrad train for this example (required)
  -o, --output <file>  the ONNX file to write (required)
  -h, --help           show this help
`,
  run: async (argv, io) => {
    const p = parseCommand("export", argv, { checkpoint: { type: "string" }, output: { type: "string", short: "o" } }, { min: 1, max: 1 });
    if (flag(p, "help")) return help(io, exportCommand);
    const checkpoint = stringOption(p, "checkpoint");
    const output = stringOption(p, "output");
    if (checkpoint === undefined) throw new UsageError("--checkpoint is required", "export");
    if (output === undefined) throw new UsageError("-o (the ONNX file to write) is required", "export");
    const example = exampleNamed(p.positionals[0]!);
    if (!existsSync(checkpoint)) throw new CliError(`no checkpoint file ${checkpoint}`);
    const ex = await example.prepare({ seed: 0 });
    const bytes = exportCheckpointOnnx(ex.inference, checkpoint, { graphName: example.name });
    writeOutput(io, output, bytes);
    return EXIT.ok;
  },
};

const help = (io: CliIo, c: Command): number => {
  io.stdout(c.help);
  return EXIT.ok;
};
