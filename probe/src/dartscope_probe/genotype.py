"""DARTS's discretisation rule, so the probe can send the genotype, its marks
on the softmax heatmaps and the skip count without the dashboard re-deriving
anything: on each intermediate node keep the two incoming edges whose
strongest operation other than `none` is strongest, each with that
operation (Liu et al., 2019)."""

PARAMETER_FREE = {"none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "noise"}


def darts_node_inputs(edge_count: int) -> list[list[int]]:
    """The DARTS wiring for `edge_count` edges: node j reads every earlier
    state (the inputs c_{k-2}, c_{k-1} and nodes 0..j-1)."""
    inputs, node = [], 0
    while sum(len(i) for i in inputs) < edge_count:
        inputs.append(list(range(2 + node)))
        node += 1
    if sum(len(i) for i in inputs) != edge_count:
        raise ValueError(f"{edge_count} edges do not make a DARTS cell (2, 5, 9, 14, ... edges); pass node_inputs")
    return inputs


def edge_label(node: int, state: int) -> str:
    source = {0: "c_{k-2}", 1: "c_{k-1}"}.get(state, f"n{state - 2}")
    return f"n{node}←{source}"


def derive(softmax: list[list[float]], operations: list[list[str]], node_inputs: list[list[int]]):
    """The genotype of one cell type: (edges as [(op, input)], marks as
    [[edge, operation index]]), in DARTS's order (strongest edge first)."""
    edges, marks, first = [], [], 0
    for inputs in node_inputs:
        candidates = []
        for offset, state in enumerate(inputs):
            edge = first + offset
            scored = [(w, k) for k, w in enumerate(softmax[edge]) if operations[edge][k] != "none"]
            if scored:
                weight, best = max(scored)
                candidates.append((-weight, edge, best, state))
        for _, edge, best, state in sorted(candidates)[: min(2, len(inputs))]:
            edges.append((operations[edge][best], state))
            marks.append([edge, best])
        first += len(inputs)
    return edges, marks


def genotype_string(normal, reduce, concat) -> str:
    def cell(edges):
        return "[" + ", ".join(f"('{op}', {state})" for op, state in edges) + "]"

    span = f"range({concat[0]}, {concat[1]})"
    return f"Genotype(normal={cell(normal)}, normal_concat={span}, reduce={cell(reduce)}, reduce_concat={span})"
