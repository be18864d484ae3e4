/**
 * Errors thrown at the public API boundary. Inside the compiler errors are values
 * (`Either`); the public API throws these with the same message.
 */
import { formatLoc, type SourceLoc } from "./graph/location.js";

/** A shape or dtype rule failed: names the op, the user's shapes and source line. */
export class ShapeError extends Error {
  override readonly name = "ShapeError";
  constructor(
    readonly op: string,
    readonly detail: string,
    readonly loc: SourceLoc | undefined,
  ) {
    super(`${op}: ${detail} (at ${formatLoc(loc)})`);
  }
}

/** A malformed graph, feed, checkpoint or file: `path` names the bad field. */
export class ValidationError extends Error {
  override readonly name: string = "ValidationError";
  constructor(
    message: string,
    readonly path: string = "",
  ) {
    super(path === "" ? message : `${path}: ${message}`);
  }
}
