import { describe, expect, it } from "vitest";
import { nn } from "../src/index.ts";

describe("convolution layers print PyTorch's repr", () => {
  it("Conv2d, pooling and BatchNorm show the arguments PyTorch 1.13 shows, defaults left out where it leaves them out", () => {
    const net = new nn.Sequential(
      new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.Conv2d(6, 16, 5, { bias: false, dilation: 2 }),
      new nn.MaxPool2d(2), new nn.AvgPool2d(2, { stride: 1 }), new nn.BatchNorm2d(4), new nn.BatchNorm1d(3, { affine: false }));
    // Printed by torch 1.13 for the same nn.Sequential (/usr/bin/python3, print(net)).
    expect(String(net)).toBe(`Sequential(
  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
  (1): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1), dilation=(2, 2), bias=False)
  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (3): AvgPool2d(kernel_size=2, stride=1, padding=0)
  (4): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  (5): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=True)
)`);
  });
});
