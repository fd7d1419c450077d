/// A discrete architecture in names: what the DARTS rule kept of each cell
/// type. It prints as the reference code's `Genotype(...)` namedtuple, so it
/// pastes into existing evaluation code, and as a Graphviz digraph.
public struct GenotypeDescription: Codable, Sendable, Equatable, CustomStringConvertible {
    /// One kept edge: its operation and the state it reads (0 = c_{k-2},
    /// 1 = c_{k-1}, 2 + j = node j).
    public struct Edge: Codable, Sendable, Equatable {
        public var operation: String
        public var input: Int

        public init(operation: String, input: Int) {
            self.operation = operation
            self.input = input
        }

        enum CodingKeys: String, CodingKey { case operation = "op", input }
    }

    public var normal: [Edge]
    public var reduce: [Edge]
    /// States concatenated into the cell output: range(2, 2 + nodes).
    public var concat: Range<Int>

    public init(normal: [Edge], reduce: [Edge], concat: Range<Int>) {
        self.normal = normal
        self.reduce = reduce
        self.concat = concat
    }

    public var description: String {
        let range = "range(\(concat.lowerBound), \(concat.upperBound))"
        return "Genotype(normal=\(Self.cellDescription(normal)), normal_concat=\(range), reduce=\(Self.cellDescription(reduce)), reduce_concat=\(range))"
    }

    /// One cell's edges as the reference code's list, `[('op', input), ...]`.
    public static func cellDescription(_ edges: [Edge]) -> String {
        "[" + edges.map { "('\($0.operation)', \($0.input))" }.joined(separator: ", ") + "]"
    }

    /// Both cells as a Graphviz digraph (one cluster per cell type).
    public var dot: String {
        var lines = ["digraph genotype {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
        for (name, edges) in [("normal", normal), ("reduce", reduce)] {
            lines.append("  subgraph cluster_\(name) {")
            lines.append("    label=\"\(name)\";")
            func state(_ s: Int) -> String {
                switch s {
                case 0: "\"\(name) c_{k-2}\""
                case 1: "\"\(name) c_{k-1}\""
                default: "\"\(name) \(s - 2)\""
                }
            }
            for (index, edge) in edges.enumerated() {
                let node = index / 2 + 2
                lines.append("    \(state(edge.input)) -> \(state(node)) [label=\"\(edge.operation)\"];")
            }
            for s in concat { lines.append("    \(state(s)) -> \"\(name) c_{k}\";") }
            lines.append("  }")
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }
}
