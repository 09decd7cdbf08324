"""Make the references for `graft features`: Fixtures/features/*.npy and manifest.json.

`graft features` returns the outputs of named modules. Its references are torchvision's
`torchvision.models.feature_extraction.create_feature_extractor` on the same checkpoint and input;
a correct implementation agrees with them to 1e-4. Three cases:

- `resnet50`: torchvision `resnet50()` strictly loaded from ../shared/fixtures/resnet50.pth, fed
  resnet50_input.npy (3, 3, 224, 224). Nodes `layer3` [3, 1024, 14, 14] and `pool` [3, 2048].
- `efficientnet_b0`: torchvision `efficientnet_b0()` from ../shared/fixtures/efficientnet_b0.pth, fed
  efficientnet_b0_input.npy. Nodes `features.4` [3, 80, 14, 14] and `pool` [3, 1280].
- `resnet18_mini`: the repo's own miniature (Fixtures/torch/resnet18_mini.pth; torchvision ResNet with
  BasicBlock, layers [2, 1, 1, 1], widths 8/16/32/64, rebuilt by tools/fixture_archs.py), fed
  Fixtures/models/input_2x3x64x64.npy. Nodes `layer1.1.bn2`, `layer2`, `layer4.0.bn2` and `pool`, all
  stored in full, so CI can check whole tensors without the shared folder. The miniature's layer4 has a
  single block, so there is no `layer4.1.bn2`; `layer4.0.bn2` is its last block's bn2 (what
  `layer4.1.bn2` is in a full resnet18), and `layer1.1.bn2` covers a non-zero block index.

Node names. `pool` is the pooled, flattened embedding the classifier sees: the output of the
`torch.flatten(x, 1)` call in torchvision's forward, graph node `flatten` (for EfficientNet that is
before `classifier.0`, the Dropout). Any other name is a module path, passed to
create_feature_extractor as is; for a container (`layer3`, `features.4`) torchvision returns its last
graph node (`layer3.5.relu_2`, `features.4.2.add`), i.e. the container's output. A BatchNorm inside a
residual block (`layer4.0.bn2`) is its own output, before the residual add and the ReLU.

Tolerance. 1e-4 absolute holds for the EfficientNet and miniature nodes, whose float32 rounding is
below 1e-6. The shared ResNet-50's perturbed BatchNorms make its activations large (layer3 up to |165|,
pool up to |425|), and PyTorch's own float32 output is 3.2e-4 (layer3) and 9.8e-5 (pool) away from the
exact float64 result, about 2e-6 of the tensor's max |x|. An absolute 1e-4 cannot be met there, so
each node records its own `tolerance` (see the checks below): use it, not the flat 1e-4.

Storage. Whole tensors when small (`storage: "full"`: one float32 .npy of the node's shape). The
full-size `layer3` and `features.4` are `storage: "sampled"`: the output shape, float64 statistics of
the whole float32 tensor (sum, sum of squares, max |x|, min, max), and the values at 4096 distinct flat
indices into the C-order (row-major NCHW) flattening, drawn with a seeded `torch.randperm` and sorted
(indices int64 .npy, values float32 .npy).

Checks made before the manifest is written:
- the shared checkpoints' sha256 equal Fixtures/torch/shared_fixture_hashes.json, and the shared
  manifest.json names the same checkpoint, input and logits files;
- every checkpoint loads strictly, and the model's logits on the input match the stored logits file
  (../shared/fixtures, or Fixtures/models for the miniature) to 1e-4; the gap is recorded as
  `logits_deviation`. It is not 0 for the miniature on every machine: its logits were made on a CPU
  whose kernels round differently (1.2e-6 here, on an AVX2 machine);
- each extractor output equals, bit for bit, what a forward hook on the same module sees in the eager
  model (for `pool`: the avgpool output flattened), and the classifier applied to `pool` reproduces the
  logits, so `pool` is the classifier's input;
- the same network in float64 is run too: its largest gap to each float32 output is recorded as
  `float64_deviation`, and each node's `tolerance` is max(1e-4, 4 x float64_deviation) (rounded up
  to two digits), so the tolerance sits above float32 rounding;
- swapping every BatchNorm eps (1e-5 <-> 1e-3) moves each node by more than its tolerance
  (`eps_sensitivity`, recorded), so a wrong eps cannot pass;
- Fixtures/features stays within its 300 KB budget.

Deterministic (fixed seeds, one thread), CPU only, about half a minute. Needs ../shared/fixtures. Run
tools/make_torch_fixtures.py, tools/make_model_fixtures.py and tools/record_shared_hashes.py first,
then, from the repository root:
    /work/main/.venv/bin/python tools/make_feature_fixtures.py [path/to/shared/fixtures]
"""

import copy
import json
import sys
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers in tools/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402
from fixture_archs import MINIATURES  # noqa: E402

OUT = lib.FIXTURES / "features"
SHARED_HASHES = lib.FIXTURES / "torch" / "shared_fixture_hashes.json"
TOLERANCE = 1e-4
NOISE_MARGIN = 4  # a node's tolerance is at least this many times its float64 deviation
LOGITS_TOLERANCE = 1e-4
SAMPLE_COUNT = 4096
INDEX_SEED = 7100
BUDGET_BYTES = 300_000
POOL = "pool"            # the Swift name of the classifier's input
POOL_NODE = "flatten"    # the torchvision graph node that computes it

# name -> how to build it and what to extract. `nodes`: Swift node name -> storage.
CASES = OrderedDict([
    ("resnet50", {
        "shared": True, "build": torchvision.models.resnet50, "architecture": "torchvision.models.resnet50()",
        "checkpoint": "resnet50.pth", "input": "resnet50_input.npy", "logits": "resnet50_logits.npy",
        "head": "fc", "pool_source": "avgpool",
        "nodes": OrderedDict([("layer3", "sampled"), (POOL, "full")]),
    }),
    ("efficientnet_b0", {
        "shared": True, "build": torchvision.models.efficientnet_b0,
        "architecture": "torchvision.models.efficientnet_b0()",
        "checkpoint": "efficientnet_b0.pth", "input": "efficientnet_b0_input.npy",
        "logits": "efficientnet_b0_logits.npy", "head": "classifier.1", "pool_source": "avgpool",
        "nodes": OrderedDict([("features.4", "sampled"), (POOL, "full")]),
    }),
    ("resnet18_mini", {
        "shared": False, "build": MINIATURES["resnet18_mini"]["build"],
        "architecture": "tools/fixture_archs.py MINIATURES['resnet18_mini']: torchvision ResNet(BasicBlock), "
                        "layers [2, 1, 1, 1], widths [8, 16, 32, 64], 10 classes",
        "checkpoint": "../torch/resnet18_mini.pth", "input": "../models/input_2x3x64x64.npy",
        "logits": "../models/resnet18_mini_logits.npy", "head": "fc", "pool_source": "avgpool",
        "nodes": OrderedDict([("layer1.1.bn2", "full"), ("layer2", "full"), ("layer4.0.bn2", "full"),
                              (POOL, "full")]),
    }),
])

DEFINITIONS = OrderedDict([
    ("paths", "For a case with shared: true, checkpoint/input/logits are file names in ../shared/fixtures "
              "(relative to the project root; absent in a fresh clone). Otherwise they are relative to "
              "Fixtures/features. Every other file name is in Fixtures/features."),
    ("pool", "The pooled, flattened embedding the classifier sees: torchvision's torch.flatten(x, 1) "
             "output, graph node 'flatten' (ResNet: before fc; EfficientNet: before classifier.0, the "
             "Dropout, i.e. before classifier.1)."),
    ("return_node", "The key passed to create_feature_extractor(model, return_nodes={return_node: name}). "
                    "For a module path that is the path itself; for a container torchvision returns the "
                    "container's last graph node, recorded as graph_node."),
    ("full", "storage 'full': 'file' holds the whole float32 output, shape 'shape'."),
    ("sampled", "storage 'sampled': 'indices' holds int64 flat indices (sorted, distinct) into the C-order "
                "flattening of the output (shape 'shape', row-major NCHW); 'values' holds the float32 "
                "outputs there. Indices: torch.randperm(numel, generator=torch.Generator().manual_seed("
                "index_seed))[:sample_count], sorted."),
    ("stats", "Of the whole float32 output, accumulated in float64: sum, sum_sq (sum of squares), max_abs, "
              "min, max. Recorded for every node, full or sampled."),
    ("tolerance", "Per node: max(1e-4, 4 x float64_deviation), rounded up to two significant digits. "
                  "Compare every value (full or sampled) with |graft - reference| <= tolerance. The top-level "
                  "tolerance is the nominal 1e-4; the ResNet-50 nodes need more (float32 rounding alone is "
                  "above 1e-4 there)."),
    ("eps_sensitivity", "Largest change of the node when every BatchNorm eps is swapped (1e-5 <-> 1e-3); "
                        "always above the node's tolerance."),
    ("float64_deviation", "Largest |float32 output - the same network in float64| over the whole tensor; "
                          "float64_stats are the stats of that float64 output. A tolerance must sit above "
                          "this; the stats' own float32 noise is |stats - float64_stats|."),
])


def load_npy(path):
    return torch.from_numpy(numpy.load(path))


def check_shared(shared):
    """The shared folder holds the files, and the checkpoints are the ones the repo's hashes describe."""
    manifest = json.loads((shared / "manifest.json").read_text())
    hashes = json.loads(SHARED_HASHES.read_text())
    for name, case in CASES.items():
        if not case["shared"]:
            continue
        entry = manifest["models"][name]
        for key in ("checkpoint", "input", "logits"):
            if entry[key] != case[key]:
                raise AssertionError(f"{shared}/manifest.json: {name}.{key} is {entry[key]}, not {case[key]}")
            if not (shared / case[key]).is_file():
                sys.exit(f"{shared}: missing {case[key]}")
        digest = lib.sha256_file(shared / case["checkpoint"])
        if digest != hashes[case["checkpoint"]]["sha256_file"]:
            raise AssertionError(f"{case['checkpoint']}: sha256 {digest} differs from {SHARED_HASHES.name}")


def load_model(case, checkpoint):
    # Any init will do: every parameter and buffer comes from the checkpoint, loaded strictly.
    torch.manual_seed(0)
    built = case["build"]()
    model = built[0] if isinstance(built, tuple) else built
    model.load_state_dict(torch.load(checkpoint, weights_only=True, map_location="cpu"), strict=True)
    return model.eval()


def return_node_for(node):
    return POOL_NODE if node == POOL else node


def graph_node_for(model, return_node):
    """The graph node torchvision returns for a key: itself, or a container's last node."""
    _, names = get_graph_node_names(model)
    if return_node in names:
        return return_node
    inside = [n for n in names if n.startswith(return_node + ".")]
    if not inside:
        raise AssertionError(f"no graph node {return_node!r}")
    return inside[-1]


def eager_outputs(model, case, nodes, x):
    """What forward hooks see in the eager model (cloned: BasicBlock adds its input in place)."""
    seen = {}
    handles = []
    for node in nodes:
        path = case["pool_source"] if node == POOL else node
        module = model.get_submodule(path)
        handles.append(module.register_forward_hook(
            lambda _m, _i, out, node=node: seen.__setitem__(node, out.detach().clone())))
    with torch.no_grad():
        logits = model(x)
    for handle in handles:
        handle.remove()
    seen[POOL] = torch.flatten(seen[POOL], 1) if POOL in seen else None
    return seen, logits


def extract(model, nodes, x):
    extractor = create_feature_extractor(model, return_nodes={return_node_for(n): n for n in nodes})
    extractor.eval()
    with torch.no_grad():
        return extractor(x)


def stats(t):
    d = t.double()
    return OrderedDict([("sum", d.sum().item()), ("sum_sq", (d * d).sum().item()),
                        ("max_abs", d.abs().max().item()), ("min", d.min().item()), ("max", d.max().item())])


def node_tolerance(deviation):
    """max(TOLERANCE, NOISE_MARGIN x deviation), rounded up to two significant digits."""
    wanted = NOISE_MARGIN * deviation
    if wanted <= TOLERANCE:
        return TOLERANCE
    scale = 10.0 ** (numpy.floor(numpy.log10(wanted)) - 1)
    return float(f"{numpy.ceil(wanted / scale) * scale:.2g}")


def eps_swapped(model):
    """The model with every BatchNorm eps swapped, 1e-5 <-> 1e-3."""
    probe = copy.deepcopy(model)
    for norm in probe.modules():
        if isinstance(norm, torch.nn.modules.batchnorm._BatchNorm):
            norm.eps = 1e-3 if norm.eps < 1e-4 else 1e-5
    return probe


def file_stem(case_name, node):
    return f"{case_name}_{node.replace('.', '_')}"


def make_case(name, case, shared):
    root = shared if case["shared"] else OUT
    checkpoint, input_path, logits_path = (root / case[k] for k in ("checkpoint", "input", "logits"))
    model = load_model(case, checkpoint)
    x = load_npy(input_path)
    nodes = list(case["nodes"])

    # Sanity: the model is the one that made the stored logits.
    seen, logits = eager_outputs(model, case, nodes, x)
    stored = load_npy(logits_path)
    logits_deviation = (logits - stored).abs().max().item()
    if logits.shape != stored.shape or logits_deviation > LOGITS_TOLERANCE:
        raise AssertionError(f"{name}: logits are {logits_deviation:.2e} away from {case['logits']}")

    outputs = extract(model, nodes, x)
    exact = extract(copy.deepcopy(model).double(), nodes, x.double())
    wrong_eps = extract(eps_swapped(model), nodes, x)
    with torch.no_grad():
        head_logits = model.get_submodule(case["head"])(outputs[POOL])
    if not torch.equal(head_logits, logits):
        dev = (head_logits - logits).abs().max().item()
        raise AssertionError(f"{name}: {case['head']}(pool) is {dev:.2e} away from the logits")

    entries = OrderedDict()
    for k, node in enumerate(nodes):
        out = outputs[node]
        if out.dtype != torch.float32 or not torch.equal(out, seen[node]):
            raise AssertionError(f"{name}.{node}: the extractor's output differs from the eager module's")
        deviation = (out.double() - exact[node]).abs().max().item()
        tolerance = node_tolerance(deviation)
        sensitivity = (wrong_eps[node] - out).abs().max().item()
        if sensitivity <= tolerance:
            raise AssertionError(f"{name}.{node}: BN eps moves it by only {sensitivity:.2e}")
        return_node = return_node_for(node)
        entry = OrderedDict([
            ("node", node), ("return_node", return_node), ("graph_node", graph_node_for(model, return_node)),
            ("shape", list(out.shape)), ("dtype", "float32"), ("storage", case["nodes"][node]),
        ])
        stem = file_stem(name, node)
        if entry["storage"] == "full":
            numpy.save(OUT / f"{stem}.npy", out.numpy())
            entry["file"] = f"{stem}.npy"
        else:
            seed = INDEX_SEED + k + 100 * list(CASES).index(name)
            gen = torch.Generator().manual_seed(seed)
            indices = torch.randperm(out.numel(), generator=gen)[:SAMPLE_COUNT].sort().values
            numpy.save(OUT / f"{stem}_indices.npy", indices.numpy().astype(numpy.int64))
            numpy.save(OUT / f"{stem}_values.npy", out.reshape(-1)[indices].numpy())
            entry.update([("indices", f"{stem}_indices.npy"), ("values", f"{stem}_values.npy"),
                          ("sample_count", SAMPLE_COUNT), ("index_seed", seed)])
        entry["stats"] = stats(out)
        entry["float64_stats"] = stats(exact[node])
        entry["float64_deviation"] = float(f"{deviation:.3g}")
        entry["tolerance"] = tolerance
        entry["eps_sensitivity"] = float(f"{sensitivity:.3g}")
        entries[node] = entry
        print(f"{name:16s} {node:13s} -> {entry['graph_node']:16s} {str(entry['shape']):20s} "
              f"{entry['storage']:7s} max|x| {entry['stats']['max_abs']:8.3f}  f64 deviation {deviation:.1e}"
              f"  tolerance {tolerance:.1e}  eps sensitivity {sensitivity:.1e}")

    return OrderedDict([
        ("shared", case["shared"]), ("architecture", case["architecture"]),
        ("checkpoint", case["checkpoint"]), ("checkpoint_sha256", lib.sha256_file(checkpoint)),
        ("input", case["input"]), ("input_sha256", lib.sha256_file(input_path)), ("input_shape", list(x.shape)),
        ("logits", case["logits"]), ("logits_deviation", float(f"{logits_deviation:.3g}")),
        ("head", case["head"]), ("nodes", entries),
    ])


def main():
    lib.require_fixed_hash_seed()
    lib.configure_torch()
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else lib.ROOT.parent / "shared" / "fixtures"
    if not (shared / "manifest.json").is_file():
        sys.exit(f"{shared}: no shared fixtures (the full-size cases need them)")
    if not SHARED_HASHES.is_file() or not (lib.FIXTURES / "models" / "manifest.json").is_file():
        sys.exit("run tools/make_torch_fixtures.py, make_model_fixtures.py and record_shared_hashes.py first")
    check_shared(shared)
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("*.npy"):
        stale.unlink()
    cases = OrderedDict((name, make_case(name, case, shared)) for name, case in CASES.items())
    lib.write_json(OUT / "manifest.json", OrderedDict([
        ("generator", "tools/make_feature_fixtures.py"), ("versions", lib.versions()),
        ("reference", "torchvision.models.feature_extraction.create_feature_extractor, model.eval(), CPU"),
        ("tolerance", TOLERANCE), ("definitions", DEFINITIONS), ("cases", cases)]))
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT} ({total} bytes, budget {BUDGET_BYTES})")
    if total > BUDGET_BYTES:
        raise AssertionError(f"{OUT}: {total} bytes is over the {BUDGET_BYTES}-byte budget")


if __name__ == "__main__":
    main()
