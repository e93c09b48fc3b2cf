// --plot draws with Vega and Vega-Lite, the package's optional peer
// dependencies: a clone has them (devDependencies), an app that installs
// wasmgrad as a library does not, so the library's install stays free of a
// plotting stack. The command line loads them before training, so that a missing
// package is reported at once rather than after minutes of work.

import { IOError } from "../errors.ts";

export const PLOT_PACKAGES_MISSING =
  "--plot draws with vega and vega-lite, optional packages that are not installed. " +
  "Install them next to wasmgrad (npm install vega vega-lite), or for one run: " +
  "npx -p wasmgrad -p vega -p vega-lite wasmgrad … --plot out.svg";

type PlotModule = typeof import("./plot.ts");

/** The plotting module; throws an IOError (PLOT_PACKAGES_MISSING) when vega or vega-lite cannot be found. */
export async function loadPlot(): Promise<PlotModule> {
  try {
    return await import("./plot.ts");
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code === "ERR_MODULE_NOT_FOUND" && /['"]vega(-lite)?['"]/.test(e.message ?? "")) {
      throw new IOError(PLOT_PACKAGES_MISSING, { cause: error });
    }
    throw error;
  }
}
