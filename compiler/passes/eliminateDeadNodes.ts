/**
 * Dead-node elimination.
 *
 * Takes a graph whose `nodes` may hold nodes no output depends on (rewrites leave them
 * behind); returns the graph of exactly the nodes reachable from the outputs, re-assembled
 * with fresh deterministic ids (leaves first, in order of first use), same name, same
 * outputs and output names. Leaves that are no longer used disappear too, so a program
 * built from the result does not ask for feeds it does not need.
 */
import type * as E from "fp-ts/lib/Either.js";
import type { Graph } from "../../src/graph/graph.js";
import type { CompileError } from "../errors.js";
import { assembleGraph } from "./rewrite.js";

/**
 * Keeps only the nodes the outputs depend on.
 * @example eliminateDeadNodes(g) // Right(graph with g.nodes minus unreachable ones)
 */
export const eliminateDeadNodes = (g: Graph): E.Either<CompileError, Graph> => assembleGraph("eliminateDeadNodes", g, g.outputs);
