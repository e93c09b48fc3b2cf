// The grid of test images, each with its true class and, after every epoch, the
// network's prediction.

import { $ } from "./dom.ts";

let classNames: readonly string[] = [];
let sampleLabels: number[] = [];

export function setClassNames(names: readonly string[]): void {
  classNames = names;
}

export function showSamples(images: Uint8Array, labels: number[]): void {
  sampleLabels = labels;
  const grid = $("grid");
  grid.replaceChildren();
  labels.forEach((label, i) => {
    const card = document.createElement("figure");
    card.className = "sample";
    const canvas = document.createElement("canvas");
    canvas.width = 28;
    canvas.height = 28;
    const ctx = canvas.getContext("2d")!;
    const pixels = ctx.createImageData(28, 28);
    for (let p = 0; p < 28 * 28; p++) {
      // Dark garments on a light card: the inverse of the IDX intensities.
      const v = 255 - images[i * 784 + p]!;
      pixels.data.set([v, v, v, 255], p * 4);
    }
    ctx.putImageData(pixels, 0, 0);
    const caption = document.createElement("figcaption");
    caption.innerHTML = `<span class="pred">…</span><span class="true">${classNames[label] ?? label}</span>`;
    card.append(canvas, caption);
    grid.append(card);
  });
}

export function showPredictions(predictions: number[]): void {
  const cards = $("grid").querySelectorAll<HTMLElement>(".sample");
  let wrong = 0;
  predictions.forEach((pred, i) => {
    const card = cards[i];
    if (!card) return;
    const ok = pred === sampleLabels[i];
    if (!ok) wrong++;
    card.classList.toggle("wrong", !ok);
    card.classList.toggle("right", ok);
    card.querySelector(".pred")!.textContent = `${ok ? "✓" : "✗"} ${classNames[pred] ?? pred}`;
  });
  $("grid").dataset.wrong = String(wrong);
}
