# One table from the three outputs of tools/device-thread-scaling.sh run:
# wasmgrad's GEMM (bench/gemm.ts --threads), wasmgrad's epoch
# (bench/epoch.ts) and PyTorch's epoch and GEMM (tools/torch_scaling.py),
# each thread count a row. Standard library only.
#
#   python3 tools/thread_scaling_table.py GEMM.txt EPOCH.txt TORCH.txt
import re
import sys


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def wasm_gemm(text):
    """GFLOP/s of the NN 1024³ product by thread count."""
    threads, out = None, {}
    for line in text.splitlines():
        if line.startswith("| M×K×N | layout |"):
            threads = [int(re.match(r"\d+", c).group()) for c in cells(line)[2:-1]]
        elif threads and line.startswith("| 1024×1024×1024 | NN |"):
            for t, c in zip(threads, cells(line)[2:]):
                out[t] = float(c.split()[0])
            break
    return out


def table_rows(text, header_start):
    """The data rows (cells) of the markdown table whose header starts with header_start."""
    rows, inside = [], False
    for line in text.splitlines():
        if line.startswith(header_start):
            inside = True
        elif inside and line.startswith("|---"):
            continue
        elif inside and line.startswith("|"):
            rows.append(cells(line))
        elif inside:
            break
    return rows


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: python3 tools/thread_scaling_table.py GEMM.txt EPOCH.txt TORCH.txt")
    gemm_text, epoch_text, torch_text = (open(p, encoding="utf-8").read() for p in sys.argv[1:])
    gemm = wasm_gemm(gemm_text)
    epoch = {int(r[0]): float(r[2]) for r in table_rows(epoch_text, "| threads | running |")}
    torch = {int(r[0]): (float(r[1]), float(r[3])) for r in table_rows(torch_text, "| threads | GEMM 1024^3")}
    counts = sorted(set(gemm) | set(epoch) | set(torch))
    if not counts:
        sys.exit("thread_scaling_table.py: no table found in the three outputs")

    def times(v, one, flops=False):
        if v is None:
            return "–"
        if one is None or v == 0:
            return f"{v:.3f}" if not flops else f"{v:.1f}"
        ratio = v / one if flops else one / v
        return (f"{v:.1f}" if flops else f"{v:.3f}") + ("" if v == one else f" ({ratio:.2f}×)")

    print("| threads | wasmgrad GEMM 1024³ GFLOP/s | wasmgrad epoch s | PyTorch epoch s | PyTorch GEMM 1024³ GFLOP/s | wasmgrad / PyTorch epoch time |")
    print("|---:|---:|---:|---:|---:|---:|")
    for t in counts:
        tg, te = torch.get(t, (None, None))
        we = epoch.get(t)
        print(
            f"| {t} | {times(gemm.get(t), gemm.get(1), True)} | {times(we, epoch.get(1))} | "
            f"{times(te, torch.get(1, (None, None))[1])} | {times(tg, torch.get(1, (None, None))[0], True)} | "
            f"{f'{we / te:.2f}' if we and te else '–'} |"
        )


main()
