/**
 * The checkpoint byte format: the safetensors layout.
 *
 *   bytes 0..8     header length N, unsigned 64-bit little-endian
 *   bytes 8..8+N   header: UTF-8 JSON object, padded with spaces to a multiple of 8
 *                  "<name>": {"dtype": "F32"|"F64"|"I32"|"BOOL", "shape": [...],
 *                             "data_offsets": [begin, end]}   (offsets into the data)
 *                  "__metadata__": {string: string}  (format, version, step, epoch, ...)
 *   bytes 8+N..    tensor data, row-major, little-endian, contiguous in offset order
 *
 * Takes bytes; guarantees either a checkpoint or a CheckpointError naming the bad field
 * (as a JSON path), with every header check done before any tensor is allocated: header
 * length within the file and under 100 MB, valid UTF-8 JSON, io-ts-checked entries, rank
 * <= 8, byte counts equal to shape x dtype size, offsets in range, non-overlapping and
 * without gaps, no `__proto__`/`constructor`/`prototype` keys, the typegrad format marker
 * and version. Never throws, never loops on input.
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import type { DType } from "../ops.js";
import { rngStateFromString, rngStateToString, type RngState } from "../random.js";
import { ValidationError } from "../errors.js";
import type { TensorValue } from "../../runtime/value.js";
import { formatDecodeErrors, segment } from "../data/decodeErrors.js";

/** The `__metadata__.format` marker of typegrad checkpoints. */
export const CHECKPOINT_FORMAT = "typegrad-checkpoint";
/** The format version this build writes and reads. */
export const CHECKPOINT_VERSION = "1";
export const MAX_HEADER_BYTES = 100_000_000;
export const MAX_RANK = 8;
const MAX_ELEMENTS = 2 ** 31 - 1;
export const PARAMS_PREFIX = "params/";
export const OPTIMIZER_PREFIX = "optimizer/";
export const USER_PREFIX = "user.";
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** What a checkpoint holds. Tensor maps are keyed by param / optimizer-slot name. */
export interface Checkpoint {
  readonly params: ReadonlyMap<string, TensorValue>;
  readonly optimizerState: ReadonlyMap<string, TensorValue>;
  readonly step: number;
  readonly epoch: number;
  /** The RNG state to resume from (data order, dropout), if the run has one. */
  readonly rng?: RngState;
  /** The caller's hash of the model graph; loading against another model fails. */
  readonly graphHash: string;
  /** The caller's own string metadata (stored under `user.<key>`). */
  readonly metadata: Readonly<Record<string, string>>;
}

export type CheckpointErrorReason = "truncated" | "headerLength" | "header" | "format" | "version" | "metadata" | "tensor" | "offsets" | "data" | "mismatch" | "io" | "invalidArgument";

/**
 * A bad, foreign or mismatching checkpoint. `path` is the JSON path of the bad field.
 *
 * @example
 * try { loadCheckpoint(file); } catch (e) { if (e instanceof CheckpointError && e.reason === "mismatch") startFresh(); }
 */
export class CheckpointError extends ValidationError {
  constructor(
    readonly reason: CheckpointErrorReason,
    readonly detail: string,
    path = "",
    readonly file?: string,
  ) {
    super(detail, path);
    if (file !== undefined) this.message = `${file}: ${this.message}`;
  }
}

/** Re-labels an error with the file it came from. */
export const inFile = (e: CheckpointError, file: string): CheckpointError => new CheckpointError(e.reason, e.detail, e.path, file);

const DTYPE_CODES = { F32: "f32", F64: "f64", I32: "i32", BOOL: "bool" } as const satisfies Record<string, DType>;
type DTypeCode = keyof typeof DTYPE_CODES;
const CODE_OF: { readonly [D in DType]: DTypeCode } = { f32: "F32", f64: "F64", i32: "I32", bool: "BOOL" };
const BYTES: { readonly [D in DType]: number } = { f32: 4, f64: 8, i32: 4, bool: 1 };
const ARRAY_OF = { f32: Float32Array, f64: Float64Array, i32: Int32Array, bool: Uint8Array } as const satisfies { readonly [D in DType]: unknown };

const Dim = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0 && n <= MAX_ELEMENTS, "a dim in [0, 2^31)");
const ByteOffset = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, "a byte offset (non-negative integer)");
const TensorEntry = t.type({
  dtype: t.keyof(DTYPE_CODES),
  shape: t.readonlyArray(Dim),
  // t.tuple would silently drop a third element: insist on exactly two.
  data_offsets: t.refinement(t.readonlyArray(ByteOffset), (xs): xs is readonly [number, number] => xs.length === 2, "a [begin, end] pair"),
});
const ENTRY_FIELDS = new Set(["dtype", "shape", "data_offsets"]);
const Metadata = t.record(t.string, t.string);

/** A validated tensor entry; nothing allocated yet. */
export interface LayoutEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

export interface Layout {
  readonly entries: readonly LayoutEntry[];
  readonly step: number;
  readonly epoch: number;
  readonly rng?: RngState;
  readonly graphHash: string;
  readonly metadata: Readonly<Record<string, string>>;
}

type Result<A> = E.Either<CheckpointError, A>;
const fail = (reason: CheckpointErrorReason, detail: string, path = ""): Result<never> => E.left(new CheckpointError(reason, detail, path));

const isLittleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reads the 8-byte header length and checks it against the file size and the 100 MB cap. */
export const readHeaderLength = (first8: Uint8Array, fileSize: number): Result<number> => {
  if (fileSize < 8 || first8.length < 8) return fail("truncated", `truncated file: ${fileSize} bytes, a checkpoint starts with an 8-byte header length`);
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const length = high * 2 ** 32 + low;
  if (high >= 2 ** 21 || length > MAX_HEADER_BYTES) return fail("headerLength", `header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit`, "header length");
  if (length > fileSize - 8) return fail("headerLength", `header length ${length} points past the end of the file (${fileSize} bytes)`, "header length");
  if (length < 2) return fail("headerLength", `header length ${length} is too small for a JSON object`, "header length");
  return E.right(length);
};

const checkKey = (key: string, path: string): Result<void> =>
  FORBIDDEN_KEYS.has(key) ? fail("header", `the key ${JSON.stringify(key)} is not allowed`, path) : E.right(undefined);

const nonNegativeInteger = (text: string | undefined, path: string): Result<number> =>
  text !== undefined && /^(0|[1-9]\d{0,15})$/.test(text) && Number.isSafeInteger(Number(text))
    ? E.right(Number(text))
    : fail("metadata", `expected a non-negative integer as a string, got ${JSON.stringify(text)}`, path);

const parseMetadata = (raw: unknown): Result<Omit<Layout, "entries">> => {
  const root = "$.__metadata__";
  if (raw === undefined) return fail("format", `no __metadata__: not a typegrad checkpoint (expected format "${CHECKPOINT_FORMAT}")`, root);
  // Keys are checked on the raw object, before any decoder copies it.
  if (typeof raw === "object" && raw !== null) {
    for (const key of Object.keys(raw)) {
      const bad = checkKey(key.startsWith(USER_PREFIX) ? key.slice(USER_PREFIX.length) : key, `${root}${segment(key)}`);
      if (E.isLeft(bad)) return bad;
    }
  }
  const decoded = Metadata.decode(raw);
  if (E.isLeft(decoded) || Array.isArray(raw)) return fail("metadata", `expected an object of strings: ${E.isLeft(decoded) ? formatDecodeErrors(decoded.left, 3, root) : "got an array"}`, root);
  const meta = decoded.right;
  const keys = Object.keys(meta);
  const get = (key: string): string | undefined => (Object.prototype.hasOwnProperty.call(meta, key) ? meta[key] : undefined);
  const format = get("format");
  if (format !== CHECKPOINT_FORMAT) return fail("format", `expected "${CHECKPOINT_FORMAT}", got ${JSON.stringify(format)}: not a typegrad checkpoint`, `${root}.format`);
  const version = get("version");
  if (version !== CHECKPOINT_VERSION) return fail("version", `unsupported version ${JSON.stringify(version)}; this build reads version ${CHECKPOINT_VERSION}`, `${root}.version`);
  const known = new Set(["format", "version", "step", "epoch", "rng", "graphHash"]);
  const unknown = keys.find((k) => !known.has(k) && !k.startsWith(USER_PREFIX));
  if (unknown !== undefined) return fail("metadata", `unknown metadata key (own keys must start with "${USER_PREFIX}")`, `${root}${segment(unknown)}`);
  const step = nonNegativeInteger(get("step"), `${root}.step`);
  if (E.isLeft(step)) return step;
  const epoch = nonNegativeInteger(get("epoch"), `${root}.epoch`);
  if (E.isLeft(epoch)) return epoch;
  const graphHash = get("graphHash");
  if (graphHash === undefined) return fail("metadata", "missing graph hash", `${root}.graphHash`);
  const rngText = get("rng");
  let rng: RngState | undefined;
  if (rngText !== undefined) {
    const decodedRng = rngStateFromString(rngText, `${root}.rng`);
    if (E.isLeft(decodedRng)) return fail("metadata", decodedRng.left.message);
    rng = decodedRng.right;
  }
  const metadata = Object.fromEntries(keys.filter((k) => k.startsWith(USER_PREFIX)).map((k) => [k.slice(USER_PREFIX.length), meta[k]!]));
  return E.right({ step: step.right, epoch: epoch.right, graphHash, metadata, ...(rng === undefined ? {} : { rng }) });
};

const parseEntry = (name: string, raw: unknown): Result<LayoutEntry> => {
  const path = `$${segment(name)}`;
  const named = checkKey(name, path);
  if (E.isLeft(named)) return named;
  const rest = name.startsWith(PARAMS_PREFIX) ? name.slice(PARAMS_PREFIX.length) : name.startsWith(OPTIMIZER_PREFIX) ? name.slice(OPTIMIZER_PREFIX.length) : undefined;
  if (rest === undefined || rest === "") return fail("tensor", `tensor names start with "${PARAMS_PREFIX}" or "${OPTIMIZER_PREFIX}" followed by a name`, path);
  const decoded = TensorEntry.decode(raw);
  if (E.isLeft(decoded)) return fail("tensor", formatDecodeErrors(decoded.left, 3, path));
  const extra = Object.keys(raw as object).find((k) => !ENTRY_FIELDS.has(k));
  if (extra !== undefined) return fail("tensor", "unexpected field (entries have dtype, shape and data_offsets)", `${path}${segment(extra)}`);
  const { dtype: code, shape, data_offsets } = decoded.right;
  const [begin, end] = data_offsets as readonly [number, number];
  const dtype = DTYPE_CODES[code];
  if (shape.length > MAX_RANK) return fail("tensor", `rank ${shape.length} exceeds the maximum ${MAX_RANK}`, `${path}.shape`);
  const elements = shape.reduce((a, b) => a * b, 1);
  if (elements > MAX_ELEMENTS) return fail("tensor", `shape [${shape.join(", ")}] has ${elements} elements, more than 2^31 - 1`, `${path}.shape`);
  if (end < begin) return fail("offsets", `end ${end} is before begin ${begin}`, `${path}.data_offsets`);
  if (end - begin !== elements * BYTES[dtype]) {
    return fail("tensor", `${end - begin} bytes for ${code}[${shape.join(", ")}], which needs ${elements * BYTES[dtype]}`, `${path}.data_offsets`);
  }
  return E.right({ name, dtype, shape, begin, end });
};

/** Validates the header (UTF-8 JSON) against the data length that follows it. Allocates nothing else. */
export const parseHeader = (headerBytes: Uint8Array, dataLength: number): Result<Layout> => {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    return fail("header", "the header is not valid UTF-8", "$");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail("header", `the header is not valid JSON: ${(e as Error).message}`, "$");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return fail("header", `the header must be a JSON object, got ${Array.isArray(json) ? "an array" : json === null ? "null" : typeof json}`, "$");
  const record = json as Record<string, unknown>;
  const meta = parseMetadata(Object.prototype.hasOwnProperty.call(record, "__metadata__") ? record["__metadata__"] : undefined);
  if (E.isLeft(meta)) return meta;
  const entries: LayoutEntry[] = [];
  for (const name of Object.keys(record)) {
    if (name === "__metadata__") continue;
    const entry = parseEntry(name, record[name]);
    if (E.isLeft(entry)) return entry;
    entries.push(entry.right);
  }
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous: LayoutEntry | undefined;
  for (const entry of byOffset) {
    const path = `$${segment(entry.name)}.data_offsets`;
    if (entry.end > dataLength) return fail("offsets", `[${entry.begin}, ${entry.end}] points past the end of the data (${dataLength} bytes)`, path);
    if (entry.begin < position) return fail("offsets", `[${entry.begin}, ${entry.end}] overlaps ${JSON.stringify(previous?.name)} (which ends at ${position})`, path);
    if (entry.begin > position) return fail("offsets", `a gap: data starts at ${entry.begin} but the previous tensor ends at ${position}`, path);
    position = entry.end;
    previous = entry;
  }
  if (position !== dataLength) return fail("offsets", `${dataLength - position} bytes of data after the last tensor (tensors cover ${position} of ${dataLength})`, "$");
  return E.right({ ...meta.right, entries });
};

const readTensor = (entry: LayoutEntry, data: Uint8Array): Result<TensorValue> => {
  const bytes = data.slice(entry.begin, entry.end); // a fresh, aligned copy
  const count = (entry.end - entry.begin) / BYTES[entry.dtype];
  const view = new DataView(bytes.buffer);
  let values: TensorValue["data"];
  switch (entry.dtype) {
    case "f32":
      values = isLittleEndianHost ? new Float32Array(bytes.buffer) : Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
      break;
    case "f64":
      values = isLittleEndianHost ? new Float64Array(bytes.buffer) : Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i, true));
      break;
    case "i32":
      values = isLittleEndianHost ? new Int32Array(bytes.buffer) : Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true));
      break;
    case "bool": {
      const bad = bytes.findIndex((b) => b > 1);
      if (bad >= 0) return fail("data", `bool element ${bad} has byte value ${bytes[bad]}, expected 0 or 1`, `$${segment(entry.name)}`);
      values = bytes;
    }
  }
  return E.right({ dtype: entry.dtype, shape: [...entry.shape], data: values });
};

/** Allocates and fills the tensors of a validated layout from the data section. */
export const materialize = (layout: Layout, data: Uint8Array): Result<Checkpoint> => {
  const params = new Map<string, TensorValue>();
  const optimizerState = new Map<string, TensorValue>();
  for (const entry of layout.entries) {
    const tensor = readTensor(entry, data);
    if (E.isLeft(tensor)) return tensor;
    if (entry.name.startsWith(PARAMS_PREFIX)) params.set(entry.name.slice(PARAMS_PREFIX.length), tensor.right);
    else optimizerState.set(entry.name.slice(OPTIMIZER_PREFIX.length), tensor.right);
  }
  const { step, epoch, rng, graphHash, metadata } = layout;
  return E.right({ params, optimizerState, step, epoch, graphHash, metadata, ...(rng === undefined ? {} : { rng }) });
};

/**
 * Decodes a whole checkpoint file's bytes (pure; never throws).
 *
 * @example
 * const result = decodeCheckpoint(fs.readFileSync("out/model.safetensors"));
 * if (E.isRight(result)) console.log(result.right.step);
 */
export const decodeCheckpoint = (bytes: Uint8Array): Result<Checkpoint> => {
  const length = readHeaderLength(bytes.subarray(0, 8), bytes.length);
  if (E.isLeft(length)) return length;
  const layout = parseHeader(bytes.subarray(8, 8 + length.right), bytes.length - 8 - length.right);
  if (E.isLeft(layout)) return layout;
  return materialize(layout.right, bytes.subarray(8 + length.right));
};

const validTensor = (name: string, tensor: TensorValue): Result<void> => {
  const path = `$${segment(name)}`;
  if (!Object.prototype.hasOwnProperty.call(CODE_OF, tensor.dtype)) return fail("invalidArgument", `unknown dtype ${JSON.stringify(tensor.dtype)}`, path);
  if (!(tensor.data instanceof ARRAY_OF[tensor.dtype])) return fail("invalidArgument", `a ${tensor.dtype} tensor needs a ${ARRAY_OF[tensor.dtype].name}, got a ${tensor.data.constructor.name}`, path);
  if (tensor.dtype === "bool" && tensor.data.some((b) => b > 1)) return fail("invalidArgument", "bool tensors hold only 0 and 1", path);
  if (tensor.shape.length > MAX_RANK || !tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return fail("invalidArgument", `bad shape [${tensor.shape.join(", ")}]`, path);
  const elements = tensor.shape.reduce((a, b) => a * b, 1);
  if (tensor.data.length !== elements) return fail("invalidArgument", `shape [${tensor.shape.join(", ")}] needs ${elements} values, the data has ${tensor.data.length}`, path);
  return E.right(undefined);
};

/**
 * Encodes a checkpoint as safetensors bytes. Tensors are laid out f64 first, then 4-byte
 * types, then bool (each name-sorted), so every tensor is aligned to its element size.
 *
 * @example
 * const bytes = encodeCheckpoint({ params: new Map([["W", tensorValue("f32", [2], [1, 2])]]),
 *   optimizerState: new Map(), step: 10, epoch: 1, graphHash: "abc", metadata: {} });
 */
export const encodeCheckpoint = (checkpoint: Checkpoint): Result<Uint8Array> => {
  const { step, epoch, graphHash, rng, metadata } = checkpoint;
  if (!Number.isSafeInteger(step) || step < 0) return fail("invalidArgument", `step must be a non-negative integer, got ${step}`, "$.__metadata__.step");
  if (!Number.isSafeInteger(epoch) || epoch < 0) return fail("invalidArgument", `epoch must be a non-negative integer, got ${epoch}`, "$.__metadata__.epoch");
  const meta: Record<string, string> = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, step: String(step), epoch: String(epoch), graphHash };
  if (rng !== undefined) meta["rng"] = rngStateToString(rng);
  for (const [key, value] of Object.entries(metadata)) {
    if (FORBIDDEN_KEYS.has(key) || typeof value !== "string") return fail("invalidArgument", "user metadata must map ordinary keys to strings", `$.__metadata__${segment(USER_PREFIX + key)}`);
    meta[USER_PREFIX + key] = value;
  }
  const named: [string, TensorValue][] = [
    ...[...checkpoint.params].map(([n, v]): [string, TensorValue] => [PARAMS_PREFIX + n, v]),
    ...[...checkpoint.optimizerState].map(([n, v]): [string, TensorValue] => [OPTIMIZER_PREFIX + n, v]),
  ];
  for (const [name, tensor] of named) {
    const ok = FORBIDDEN_KEYS.has(name.slice(name.indexOf("/") + 1)) || name.endsWith("/") ? fail("invalidArgument", "tensor names must be non-empty ordinary keys", `$${segment(name)}`) : validTensor(name, tensor);
    if (E.isLeft(ok)) return ok;
  }
  named.sort(([a, x], [b, y]) => BYTES[y.dtype] - BYTES[x.dtype] || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: meta };
  let offset = 0;
  for (const [name, tensor] of named) {
    const size = tensor.data.length * BYTES[tensor.dtype];
    header[name] = { dtype: CODE_OF[tensor.dtype], shape: [...tensor.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let headerText = JSON.stringify(header);
  const headerBytesRaw = new TextEncoder().encode(headerText);
  const padded = Math.ceil(headerBytesRaw.length / 8) * 8;
  headerText += " ".repeat(padded - headerBytesRaw.length);
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded, true);
  out.set(new TextEncoder().encode(headerText), 8);
  let position = 8 + padded;
  for (const [, tensor] of named) {
    const data = tensor.data;
    if (isLittleEndianHost || data instanceof Uint8Array) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    } else {
      data.forEach((v, i) =>
        data instanceof Float32Array ? view.setFloat32(position + 4 * i, v, true) : data instanceof Float64Array ? view.setFloat64(position + 8 * i, v, true) : view.setInt32(position + 4 * i, v, true),
      );
    }
    position += data.byteLength;
  }
  return E.right(out);
};
