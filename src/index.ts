/**
 * typegrad: neural networks as pure functions over shape-typed tensors.
 *
 * @example
 * import { input, param, matmul, add, tanh, sym, buildGraph, graphToText } from "typegrad";
 * const x = input("x", [sym("batch"), 2], "f32");
 * const W = param("W", [2, 4], "f32");
 * const h = tanh(matmul(x, W));
 * console.log(graphToText(buildGraph(h, "layer")));
 */
export { Op, DTYPES, type DType, type FloatDType, type OpParams, type RuntimeDim, type RuntimeShape } from "./ops.js";
export type { Sym, Dim, Shape, DynamicShape } from "./types/dims.js";
export type { Tensor, AnyTensor, ShapeOf, DTypeOf } from "./tensor.js";
export { ShapeError, ValidationError } from "./errors.js";
export * from "./dsl/constructors.js";
export * from "./dsl/elementwise.js";
export * from "./dsl/reduce.js";
export * from "./dsl/structure.js";
export * from "./dsl/linalg.js";
export * from "./dsl/escape.js";
export { buildGraph, graphInputs, graphParams, consumersOf, type Graph } from "./graph/graph.js";
export type { Node } from "./graph/node.js";
export type { SourceLoc } from "./graph/location.js";
export { graphToText, type TextOptions } from "./graph/text.js";
export { formatShape } from "./graph/shapes.js";
export { evaluate, evaluateTensors, type EvaluateOptions } from "../runtime/interpret.js";
export { FeedError, type FeedProblem, type DimBindings } from "../runtime/bind.js";
export { tensorValue, type TensorValue } from "../runtime/value.js";
export type { InitSpec } from "./ops.js";
export { dense, mlp, type DenseParams, type MlpParams, type Activation } from "./nn/layers.js";
export { initParams, collectParams, fans, type ParamValues } from "./nn/init.js";
export * from "./train/losses.js";
export * from "./train/optimizers.js";
export { buildTrainStep, stepOutputs, stateInputName, type TrainStepSpec, type TrainStepGraph } from "./train/step.js";
export { createTrainer, type Trainer, type TrainerConfig, type TrainState, type StepResult } from "./train/trainer.js";
export { grad, valueAndGrad, vjp, GradError, type Gradients, type WrtTensors } from "./autodiff.js";
export { optimizeGraph, formatPassStats, type OptimizeOptions, type PassStat, type Optimized } from "../compiler/pipeline.js";
export { verifyGraph } from "../compiler/passes/verifyGraph.js";
export { eliminateCommonSubexpressions } from "../compiler/passes/eliminateCommonSubexpressions.js";
export { foldConstants, foldConstantsWith, DEFAULT_FOLD_LIMIT, type FoldOptions } from "../compiler/passes/foldConstants.js";
export { simplifyAlgebra } from "../compiler/passes/simplifyAlgebra.js";
export { eliminateDeadNodes } from "../compiler/passes/eliminateDeadNodes.js";
export { CompileFailure, orThrow, type CompileError, type CompileErrorKind } from "../compiler/errors.js";
export { graphToJson, graphFromJson, parseGraphJson, graphToDocument, formatGraphJsonError, GRAPH_JSON_LIMITS, GRAPH_JSON_FORMAT, GRAPH_JSON_VERSION, type GraphJsonError, type GraphDocument, type NodeDoc, type JsonOptions } from "./graph/json.js";
export { graphToDot, escapeDot, type DotOptions } from "./graph/dot.js";
export { rngFromSeed, withRng, nextUint32, nextFloat, nextUniform, nextInt, nextNormal, fillUniform, fillNormal, permutation, shuffle, jumpRng, rngStateToString, rngStateFromString, type RngState, type RngStream } from "./random.js";
export { makeDataset, selectRows, toFloat32, numRows, numClassesOf, classIndicesOf, DataError, type Dataset, type DatasetInput, type Matrix, type FloatArray, type Targets, type ClassTargets, type ValueTargets, type DataIssue } from "./data/dataset.js";
export { parseCsv, loadCsv, parseCsvRecords, type CsvOptions } from "./data/csv.js";
export { parseJsonDataset, decodeJsonDataset, loadJson, type JsonDatasetOptions } from "./data/json.js";
export type { TableOptions } from "./data/table.js";
export { fitStandardizer, fitMinMax, applyScaler, scaleSplits, decodeScalerStats, oneHotEncode, findNonFinite, formatNonFinite, dropNonFiniteRows, type ScalerStats, type StandardizeStats, type MinMaxStats, type NonFiniteValue } from "./data/preprocess.js";
export { splitDataset, type SplitOptions, type Splits } from "./data/split.js";
export { epochBatches, minibatches, type BatchOptions, type EpochBatches, type DatasetBatches } from "./data/batches.js";
export { loadIris, loadMnist, type MnistOptions, type MnistSplits } from "./data/builtin.js";
export { saveCheckpoint, loadCheckpoint, readCheckpoint, matchCheckpoint, specsOf, type TensorSpec, type ExpectedModel } from "./train/checkpoint.js";
export { CheckpointError, encodeCheckpoint, decodeCheckpoint, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type Checkpoint, type CheckpointErrorReason } from "./train/checkpointFormat.js";
export { accuracy, argmaxRows, confusionMatrix, classificationReport, formatConfusionMatrix, formatClassificationReport, type ConfusionMatrix, type ClassificationReport, type ClassScores } from "./train/metrics.js";
export { createProgressBar, shouldDrawProgress, type ProgressBar, type ProgressOptions, type ProgressStream, type StepUpdate, type EpochSummary } from "./train/progress.js";
export { lineChartSvg, trainingCurvesSvg, type ChartSeries, type ChartOptions, type HistoryPoint } from "./train/chart.js";
