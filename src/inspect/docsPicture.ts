/**
 * The README's example picture: the forward graph of examples/models/mnist-mlp.ts as SVG.
 *
 * Takes nothing; returns the SVG that `npm run docs:images` writes to
 * docs/images/mnist-mlp.svg, so a test can check the committed file is current.
 */
import { loadModelModule } from "../cli/modelModule.js";
import { graphToSvg } from "./svg.js";

/** The model module the README's pictures are made from. */
export const DOCS_IMAGE_MODULE = "examples/models/mnist-mlp.ts";

/**
 * The SVG of docs/images/mnist-mlp.svg.
 * @example writeFileSync("docs/images/mnist-mlp.svg", await docsPicture());
 */
export const docsPicture = async (): Promise<string> => {
  const m = await loadModelModule(DOCS_IMAGE_MODULE);
  return graphToSvg(m.forward, { ...(m.modelFunction === undefined ? {} : { modelFunction: m.modelFunction }) });
};
