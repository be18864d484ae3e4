/**
 * Saving and loading checkpoints on disk (format: `checkpointFormat.ts`, the safetensors
 * layout).
 *
 * Takes a checkpoint and a path; guarantees that a save is atomic (a temporary file in the
 * same directory, fsync, rename over the target, fsync of the directory), so a crash at any
 * point leaves either the previous checkpoint or the new one, complete; that a load reads
 * and validates the header before reading or allocating tensor data; and, when the caller
 * says what model it expects, that a checkpoint of another model is refused with a message
 * naming each missing, extra or differently shaped tensor, or the graph hash.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as E from "fp-ts/lib/Either.js";
import type { DType } from "../ops.js";
import type { TensorValue } from "../../runtime/value.js";
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, inFile, materialize, parseHeader, readHeaderLength, type Checkpoint } from "./checkpointFormat.js";

export { CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from "./checkpointFormat.js";

/** The dtype and shape a model expects for one tensor. */
export interface TensorSpec {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

type SpecTable = ReadonlyMap<string, TensorSpec> | Readonly<Record<string, TensorSpec>>;

/** What the loading model looks like; each part given is checked. */
export interface ExpectedModel {
  readonly params?: SpecTable;
  readonly optimizerState?: SpecTable;
  readonly graphHash?: string;
}

/**
 * The dtype and shape of each tensor, e.g. to check a checkpoint against the current params.
 *
 * @example
 * loadCheckpoint("out/model.safetensors", { params: specsOf(params), graphHash });
 */
export const specsOf = (tensors: ReadonlyMap<string, TensorValue>): Map<string, TensorSpec> =>
  new Map([...tensors].map(([name, t]) => [name, { dtype: t.dtype, shape: [...t.shape] }]));

const entriesOf = (table: SpecTable): [string, TensorSpec][] => (table instanceof Map ? [...table] : Object.entries(table as Readonly<Record<string, TensorSpec>>));

const formatSpec = (s: TensorSpec): string => `${s.dtype}[${s.shape.join(", ")}]`;

const MAX_LISTED = 10;

/**
 * Checks that a checkpoint belongs to the expected model: every tensor present with the
 * same dtype and shape, none extra, the same graph hash. Lists every mismatch (up to 10).
 *
 * @example
 * const ok = matchCheckpoint(decoded, { params: specsOf(params), graphHash }); // Left names each mismatch
 */
export const matchCheckpoint = (checkpoint: Checkpoint, expected: ExpectedModel): E.Either<CheckpointError, Checkpoint> => {
  const problems: string[] = [];
  const compare = (kind: string, actual: ReadonlyMap<string, TensorValue>, table: SpecTable | undefined): void => {
    if (table === undefined) return;
    const wanted = new Map(entriesOf(table));
    for (const [name, spec] of wanted) {
      const got = actual.get(name);
      if (got === undefined) problems.push(`${kind} ${JSON.stringify(name)} (${formatSpec(spec)}) is missing from the checkpoint`);
      else if (got.dtype !== spec.dtype || got.shape.length !== spec.shape.length || got.shape.some((d, i) => d !== spec.shape[i])) {
        problems.push(`${kind} ${JSON.stringify(name)} is ${formatSpec(got)} in the checkpoint, the model expects ${formatSpec(spec)}`);
      }
    }
    for (const [name, got] of actual) {
      if (!wanted.has(name)) problems.push(`${kind} ${JSON.stringify(name)} (${formatSpec(got)}) is in the checkpoint but not in the model`);
    }
  };
  if (expected.graphHash !== undefined && expected.graphHash !== checkpoint.graphHash) {
    problems.push(`the graph hash differs: checkpoint ${JSON.stringify(checkpoint.graphHash)}, model ${JSON.stringify(expected.graphHash)} (a different model or a changed one)`);
  }
  compare("param", checkpoint.params, expected.params);
  compare("optimizer state", checkpoint.optimizerState, expected.optimizerState);
  if (problems.length === 0) return E.right(checkpoint);
  const more = problems.length > MAX_LISTED ? `\n  (and ${problems.length - MAX_LISTED} more)` : "";
  return E.left(new CheckpointError("mismatch", `checkpoint does not match the model:\n  ${problems.slice(0, MAX_LISTED).join("\n  ")}${more}`));
};

const ioError = (file: string, action: string, e: unknown): CheckpointError =>
  new CheckpointError("io", `cannot ${action}: ${(e as NodeJS.ErrnoException).code ?? ""} ${(e as Error).message}`.replace(/\s+/g, " "), "", file);

const writeAll = (fd: number, bytes: Uint8Array): void => {
  let written = 0;
  while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
};

/** fsync of a directory makes a rename durable on POSIX; Windows cannot open directories. */
const syncDirectory = (dir: string): void => {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL" && code !== "EACCES") throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
};

/** Prefix of temporary files; a crash can leave one behind, and loads never read it. */
export const tempFilePrefix = (target: string): string => `.${path.basename(target)}.tmp-`;

/**
 * Writes bytes to `target` atomically: readers see the old file or the whole new one.
 */
export const writeFileAtomic = (target: string, bytes: Uint8Array): void => {
  const dir = path.dirname(path.resolve(target));
  const temp = path.join(dir, `${tempFilePrefix(target)}${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, "wx", 0o644);
    writeAll(fd, bytes);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, target);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw ioError(target, "write the checkpoint", e);
  }
  try {
    syncDirectory(dir);
  } catch (e) {
    throw ioError(dir, "sync the directory after renaming the checkpoint", e);
  }
};

/**
 * Saves a checkpoint atomically; a crash mid-save leaves the previous file intact.
 * Throws a CheckpointError for an invalid checkpoint or an I/O failure.
 *
 * @example
 * saveCheckpoint("out/mnist.safetensors", {
 *   params, optimizerState, step, epoch, rng, graphHash: graph.hash, metadata: { note: "lr 0.1" },
 * });
 */
export const saveCheckpoint = (target: string, checkpoint: Checkpoint): void => {
  const bytes = encodeCheckpoint(checkpoint);
  if (E.isLeft(bytes)) throw inFile(bytes.left, target);
  writeFileAtomic(target, bytes.right);
};

const readExactly = (fd: number, length: number, position: number): Uint8Array => {
  const buffer = new Uint8Array(length);
  let read = 0;
  while (read < length) {
    const n = fs.readSync(fd, buffer, read, length - read, position + read);
    if (n === 0) break;
    read += n;
  }
  return read === length ? buffer : buffer.subarray(0, read);
};

/**
 * Reads and validates a checkpoint file (header first, then the data), returning it or a
 * CheckpointError as a value; with `expected`, also checks it belongs to that model.
 *
 * @example
 * const result = readCheckpoint("out/mnist.safetensors");
 * if (E.isLeft(result)) console.error(result.left.message);
 */
export const readCheckpoint = (file: string, expected?: ExpectedModel): E.Either<CheckpointError, Checkpoint> => {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    return E.left(ioError(file, "open the checkpoint", e));
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = readHeaderLength(readExactly(fd, Math.min(8, size), 0), size);
    if (E.isLeft(length)) return E.left(inFile(length.left, file));
    const layout = parseHeader(readExactly(fd, length.right, 8), size - 8 - length.right);
    if (E.isLeft(layout)) return E.left(inFile(layout.left, file));
    const data = readExactly(fd, size - 8 - length.right, 8 + length.right);
    if (data.length !== size - 8 - length.right) return E.left(new CheckpointError("truncated", "the file shrank while it was being read", "", file));
    const checkpoint = materialize(layout.right, data);
    if (E.isLeft(checkpoint)) return E.left(inFile(checkpoint.left, file));
    if (expected === undefined) return checkpoint;
    const matched = matchCheckpoint(checkpoint.right, expected);
    return E.isLeft(matched) ? E.left(inFile(matched.left, file)) : matched;
  } catch (e) {
    return E.left(ioError(file, "read the checkpoint", e));
  } finally {
    fs.closeSync(fd);
  }
};

/**
 * Loads a checkpoint; throws a CheckpointError naming the file and the bad field, or, when
 * `expected` is given, each tensor that does not match the model.
 *
 * @example
 * const ckpt = loadCheckpoint("out/mnist.safetensors", { params: specsOf(params), graphHash: graph.hash });
 * params = ckpt.params; rng = ckpt.rng ?? rngFromSeed(0);
 */
export const loadCheckpoint = (file: string, expected?: ExpectedModel): Checkpoint => {
  const result = readCheckpoint(file, expected);
  if (E.isLeft(result)) throw result.left;
  return result.right;
};
