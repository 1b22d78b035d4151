"""PyTorch's forward 3x3 convolution rate on the layers bench/conv-ceiling.ts gives (same shapes, NCHW)."""
import argparse
import json
import time

import torch


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--layers", required=True, help="JSON list of {name, input: [n,h,w,cin], kernel: [kh,kw,cin,cout]}")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    out = []
    for layer in json.loads(a.layers):
        n, h, w, cin = layer["input"]
        kh, kw, _, cout = layer["kernel"]
        x = torch.randn(n, cin, h, w)
        k = torch.randn(cout, cin, kh, kw) * 0.05
        times = []
        with torch.no_grad():
            for i in range(9):
                t0 = time.perf_counter()
                torch.nn.functional.conv2d(x, k, padding=kh // 2)
                if i >= 2:
                    times.append(time.perf_counter() - t0)
        times.sort()
        s = times[len(times) // 2]
        out.append({"layer": layer["name"], "medianS": s, "gmacPerS": round(n * h * w * kh * kw * cin * cout / s / 1e9, 2)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
