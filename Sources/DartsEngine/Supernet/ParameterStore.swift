/// The supernet's state in PyTorch `state_dict` order: weights, batch-norm
/// buffers and the architecture parameters, each under the name the
/// reference `model_search.Network` gives it (`stem.0.weight`,
/// `cells.3._ops.5._ops.4.op.2.weight`, `classifier.bias`, ...).
public final class ParameterStore<Scalar: TensorScalar> {
    /// One `state_dict` item: a weight, or a batch-norm layer's three buffers.
    public enum Entry: Equatable {
        case weight(String)
        case batchNorm(prefix: String)
    }

    public private(set) var entries: [Entry] = []
    public var weights: [String: Tensor<Scalar>] = [:]
    public private(set) var batchNorms: [String: BatchNormStatistics<Scalar>] = [:]
    /// Architecture parameters (`alphas_normal`, `alphas_reduce`), kept apart
    /// from the weights because the two are optimised by different steps.
    public var alphas: [String: Tensor<Scalar>] = [:]
    public private(set) var alphaNames: [String] = []

    public init() {}

    func addWeight(_ name: String, _ value: Tensor<Scalar>) {
        require(weights[name] == nil, "ParameterStore: duplicate weight \(name)")
        entries.append(.weight(name))
        weights[name] = value
    }

    func addBatchNorm(_ prefix: String, channels: Int) {
        require(batchNorms[prefix] == nil, "ParameterStore: duplicate batch norm \(prefix)")
        entries.append(.batchNorm(prefix: prefix))
        batchNorms[prefix] = BatchNormStatistics(channels: channels)
    }

    func addAlpha(_ name: String, _ value: Tensor<Scalar>) {
        alphaNames.append(name)
        alphas[name] = value
    }

    /// Weight names in `state_dict` order (the trainable parameters).
    public var weightNames: [String] {
        entries.compactMap { if case .weight(let name) = $0 { name } else { nil } }
    }

    /// Every `state_dict` key with its shape, in order, followed by the α
    /// matrices — the names a snapshot's safetensors file holds.
    public var stateDictShapes: [(name: String, shape: [Int])] {
        var result: [(String, [Int])] = []
        for entry in entries {
            switch entry {
            case .weight(let name):
                result.append((name, weights[name]!.shape))
            case .batchNorm(let prefix):
                let channels = batchNorms[prefix]!.channels
                result.append(("\(prefix).running_mean", [channels]))
                result.append(("\(prefix).running_var", [channels]))
                result.append(("\(prefix).num_batches_tracked", []))
            }
        }
        for name in alphaNames { result.append((name, alphas[name]!.shape)) }
        return result
    }

    /// Number of trainable weights (α excluded), as `sum(p.numel())` counts.
    public var weightCount: Int { weights.values.reduce(0) { $0 + $1.count } }

    /// Number of architecture coordinates (the α-Hessian's order).
    public var alphaScalarCount: Int { alphas.values.reduce(0) { $0 + $1.count } }
}
