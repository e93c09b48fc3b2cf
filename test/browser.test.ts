// The demo page (web/) in a real headless Chromium: Debian's /usr/bin/chromium
// driven by playwright-core (no browser is ever downloaded). The page is built
// as static files (vite build) and served from 127.0.0.1 by a tiny node:http
// server, once with the cross-origin isolation headers and once without.
// Screenshots go to test/artifacts/ (git-ignored).

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ConsoleMessage, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, serveStatic, type Chromium, type StaticServer } from "./chromium.ts";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("..", import.meta.url));
const artifacts = join(repo, "test", "artifacts");
/** Subset epochs to train: enough for the test accuracy to pass the floor with seed 0 (0.70 after 6 in Node). */
const EPOCHS = 6;
const ACCURACY_FLOOR = 0.6;

let site = "";
let browser: Chromium | undefined;
const servers: StaticServer[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  site = mkdtempSync(join(tmpdir(), "wasmgrad-web-"));
  // The page as `npm run build:web` builds it, into a folder of its own.
  await run(process.execPath, [join(repo, "node_modules/vite/bin/vite.js"), "build", "--config", "web/vite.config.ts", "--outDir", site, "--emptyOutDir", "--logLevel", "warn"], { cwd: repo });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  if (site) rmSync(site, { recursive: true, force: true });
});

async function open(isolated: boolean, query: string): Promise<{ page: Page; console: ConsoleMessage[]; errors: Error[] }> {
  const server = await serveStatic(site, isolated);
  servers.push(server);
  const page = await browser!.context.newPage();
  const messages: ConsoleMessage[] = [];
  const errors: Error[] = [];
  page.on("console", (m) => messages.push(m));
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(`${server.url}?${query}`);
  // The worker has started wasmgrad and reported its backend (with ?autorun, training starts right after).
  await page.waitForSelector("#env-backend[data-backend]", { state: "attached", timeout: 20_000 });
  return { page, console: messages, errors };
}

const attr = (page: Page, selector: string, name: string) => page.getAttribute(selector, name);
const num = async (page: Page, selector: string) => Number(await page.textContent(selector));

/** Trains through the controls and waits for the end; returns the largest main-thread stall seen meanwhile (ms). */
async function trainFromControls(page: Page, epochs: number): Promise<number> {
  await page.fill("#epochs", String(epochs));
  await page.evaluate(() => {
    const w = window as unknown as { __maxGap: number; __probe: number };
    let last = performance.now();
    w.__maxGap = 0;
    w.__probe = window.setInterval(() => {
      const now = performance.now();
      w.__maxGap = Math.max(w.__maxGap, now - last);
      last = now;
    }, 20);
  });
  await page.click("#train");
  await page.waitForSelector("#status[data-state=done][data-task=train]", { timeout: 60_000 });
  return page.evaluate(() => {
    const w = window as unknown as { __maxGap: number; __probe: number };
    clearInterval(w.__probe);
    return w.__maxGap;
  });
}

async function checkTrainingResult(page: Page, epochs: number): Promise<number> {
  const testAcc = await num(page, "#stat-test-acc");
  expect(testAcc).toBeGreaterThan(ACCURACY_FLOOR);
  expect(Number(await num(page, "#stat-train-acc"))).toBeGreaterThan(0.5);
  expect(await page.textContent("#stat-epoch")).toBe(`${epochs} / ${epochs}`);
  expect(Number(await page.textContent("#stat-ips").then((t) => t!.replace(/,/g, "")))).toBeGreaterThan(100);
  // Charts: train metrics at fractional epochs, test accuracy once per epoch, drawn by uPlot.
  expect(Number(await attr(page, "#loss-chart", "data-points"))).toBeGreaterThanOrEqual(epochs);
  expect(Number(await attr(page, "#acc-chart", "data-points"))).toBe(epochs);
  expect(await page.locator("#loss-chart canvas").count()).toBeGreaterThan(0);
  expect(await page.locator("#acc-chart canvas").count()).toBeGreaterThan(0);
  // The grid: 24 test images, each with a predicted and a true class name, mistakes marked.
  expect(await page.locator("#grid .sample").count()).toBe(24);
  expect(await page.locator("#grid .sample.right").count()).toBeGreaterThan(12);
  expect(await page.locator("#grid .sample.wrong").count()).toBe(Number(await attr(page, "#grid", "data-wrong")));
  expect(await page.textContent("#grid .sample .true")).toMatch(/^(t-shirt|trouser|pullover|dress|coat|sandal|shirt|sneaker|bag|ankle boot)$/);
  return testAcc;
}

/** The live speed-up after a run on `threads` threads: a finite positive number, stated in words with the batches it compared. */
async function checkLiveSpeedup(page: Page, threads: number): Promise<number> {
  expect(await attr(page, "#live-speedup", "data-state")).toBe("measured");
  const speedup = Number(await attr(page, "#live-speedup", "data-speedup"));
  expect(Number.isFinite(speedup) && speedup > 0).toBe(true);
  // "2 threads: 1.43× one thread (median batch: 12,345 images/s on 2 threads, batches 16–144; 8,642 on one, batches 4–12)",
  // the first 3 batches on each count left out as warm-up.
  expect(await page.textContent("#live-speedup")).toMatch(
    new RegExp(`^${threads} threads: ${speedup.toFixed(2)}× one thread \\(median batch: [\\d,]+ images/s on ${threads} threads, batches 16–\\d+; [\\d,]+ on one, batches 4–12\\)$`),
  );
  expect(await page.textContent("#stat-speedup")).toBe(`${speedup.toFixed(2)}×`);
  return speedup;
}

describe("the demo page in headless Chromium", () => {
  it("type-checks", async () => {
    await run(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", "web"], { cwd: repo });
  }, 30_000);

  it("cross-origin isolated: detects SIMD and isolation, trains off the main thread, runs the weight-decay experiment and Wasm vs JS", async () => {
    const { page, console: messages, errors } = await open(true, "");
    expect(await attr(page, "#env-simd", "data-ok")).toBe("true");
    expect(await attr(page, "#env-isolated", "data-ok")).toBe("true");
    expect(await attr(page, "#env-sab", "data-ok")).toBe("true");
    // The relaxed-SIMD build where the engine validates it (Chrome 114+), else the baseline one.
    const build = await attr(page, "#env-backend", "data-backend");
    expect(build).toMatch(/^wasm-simd128(-relaxed)?$/);
    expect(await page.textContent("#backend-name")).toBe(`Wasm ${build!.endsWith("relaxed") ? "relaxed " : ""}SIMD, 1 thread`);
    expect(await page.isEnabled("#threads")).toBe(true);
    // Threads by default: the logical cores, at most 8.
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    expect(await page.inputValue("#threads")).toBe(String(Math.min(8, Math.max(1, cores))));
    expect(await page.isHidden("#isolation-note")).toBe(true);

    const maxGap = await trainFromControls(page, EPOCHS);
    const testAcc = await checkTrainingResult(page, EPOCHS);
    // Training runs in a worker: the page's own timers keep firing (a main-thread loop would stall them for seconds).
    expect(maxGap).toBeLessThan(1000);
    // On the default threads the run timed itself against one thread while it trained.
    if (cores > 1) await checkLiveSpeedup(page, Math.min(8, cores));

    await page.click("#wd-run");
    await page.waitForSelector("#status[data-state=done][data-task=weight-decay]", { timeout: 30_000 });
    for (const l of [0, 3]) expect(Number(await attr(page, `#wd-chart-${l}`, "data-points"))).toBe(100);
    const test0 = Number(await attr(page, "#wd-summary-0", "data-test-loss"));
    const test3 = Number(await attr(page, "#wd-summary-3", "data-test-loss"));
    const train0 = Number(await attr(page, "#wd-summary-0", "data-train-loss"));
    expect(train0).toBeLessThan(1e-3); // λ = 0 overfits: train loss near 0 ...
    expect(test0).toBeGreaterThan(10); // ... test loss large,
    expect(test3).toBeLessThan(test0 / 10); // and λ = 3 cuts it by far.

    await page.click("#bench-run");
    await page.waitForSelector("#status[data-state=done][data-task=bench]", { timeout: 60_000 });
    const ratio = Number(await attr(page, "#bench-ratio", "data-ratio"));
    expect(ratio).toBeGreaterThan(1);
    const bench = await page.$$eval("#bench-table tbody tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    // On more than one thread the Wasm backend is also timed on one, and the page states the speed-up.
    expect(bench).toHaveLength(cores > 1 ? 3 : 2);
    if (cores > 1) expect(Number(await attr(page, "#bench-threads", "data-speedup"))).toBeGreaterThan(0);

    await page.screenshot({ path: join(artifacts, "web-demo.png"), fullPage: true });
    const warnings = messages.filter((m) => m.type() === "warning" || m.type() === "error").map((m) => m.text());
    expect(warnings).toEqual([]);
    expect(errors).toEqual([]);
    console.log(
      `browser (isolated): ${EPOCHS} subset epochs, test accuracy ${testAcc}, ${await page.textContent("#stat-ips")} images/s in the last epoch; ` +
        `Wasm vs JS: ${JSON.stringify(bench)}, ratio ${ratio.toFixed(1)}; ${await page.textContent("#bench-threads")}`,
    );
    await page.close();
  }, 90_000);

  it("isolated, 1 thread then 2: one thread says so in words; two threads show the live speed-up and train the same network", async () => {
    const { page, errors } = await open(true, "");
    const epochs = 2; // 48 subset batches: enough to spare the first 12 for one thread
    await page.fill("#threads", "1");
    await trainFromControls(page, epochs);
    expect(await attr(page, "#live-speedup", "data-state")).toBe("none");
    expect(await attr(page, "#live-speedup", "data-speedup")).toBeNull();
    expect(await page.textContent("#live-speedup")).toBe("One thread: nothing to compare. Set Threads to 2 or more to see the speed-up live.");
    expect(await page.textContent("#backend-name")).toMatch(/, 1 thread$/);
    const oneThread = await attr(page, "#stats", "data-epoch-result");
    expect(JSON.parse(oneThread!)).toHaveLength(4);

    await page.fill("#threads", "2");
    await trainFromControls(page, epochs);
    const speedup = await checkLiveSpeedup(page, 2);
    expect(await page.textContent("#backend-name")).toMatch(/, 2 threads$/);
    // Its first batches ran on one thread, the rest on two: the epoch's figures are bitwise those of the one-thread run.
    expect(await attr(page, "#stats", "data-epoch-result")).toBe(oneThread);
    expect(errors).toEqual([]);
    console.log(`browser (isolated, live): ${await page.textContent("#live-speedup")} [speed-up ${speedup}]`);
    await page.close();
  }, 60_000);

  it("not isolated: one console warning naming both headers, and training still passes on one thread", async () => {
    const { page, console: messages, errors } = await open(false, `epochs=${EPOCHS}&autorun`);
    await page.waitForSelector("#status[data-state=done][data-task=train]", { timeout: 60_000 });
    expect(await attr(page, "#env-simd", "data-ok")).toBe("true");
    expect(await attr(page, "#env-isolated", "data-ok")).toBe("false");
    expect(await attr(page, "#env-sab", "data-ok")).toBe("false");
    const build = await attr(page, "#env-backend", "data-backend");
    expect(await page.textContent("#backend-name")).toBe(`Wasm ${build!.endsWith("relaxed") ? "relaxed " : ""}SIMD, 1 thread`);
    expect(await page.isVisible("#isolation-note")).toBe(true);
    await checkTrainingResult(page, EPOCHS);
    expect(await attr(page, "#live-speedup", "data-state")).toBe("none");
    expect(await attr(page, "#live-speedup", "data-speedup")).toBeNull();
    expect(await page.textContent("#live-speedup")).toBe("One thread: this page is not cross-origin isolated, so threads are unavailable.");

    const warnings = messages.filter((m) => m.type() === "warning").map((m) => m.text());
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not cross-origin isolated/);
    expect(warnings[0]).toContain("Cross-Origin-Opener-Policy: same-origin");
    expect(warnings[0]).toContain("Cross-Origin-Embedder-Policy: require-corp");
    expect(messages.filter((m) => m.type() === "error")).toEqual([]);
    expect(errors).toEqual([]);
    await page.screenshot({ path: join(artifacts, "web-demo-not-isolated.png"), fullPage: true });

    // Stop ends the worker mid-training and starts a fresh one.
    await page.fill("#epochs", "50");
    await page.click("#train");
    await page.waitForSelector("#status[data-state=training]", { timeout: 20_000 });
    await page.click("#stop");
    await page.waitForSelector("#status[data-state=ready]", { timeout: 20_000 });
    expect(await page.isEnabled("#train")).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
