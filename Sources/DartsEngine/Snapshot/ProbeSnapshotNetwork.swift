import Foundation

/// A probe's snapshot rebuilt as dartscope's own supernet, so `dartscope
/// hessian` can take the full α-Hessian of a PyTorch search at the point
/// the snapshot froze.
///
/// Possible only when the PyTorch model *is* a DARTS supernet in dartscope's
/// definition (the reference `model_search.Network` layout: ReLU-conv-BN
/// preprocessing, affine-free BN in the operations, cells reducing at L/3
/// and 2L/3) and the probe wrote down how to rebuild it: the manifest's
/// `network` block (C, L, classes, input channels, and the dartscope name
/// of each state_dict entry when the model's names differ) and the batch
/// its own eigenvalue measurement uses (`hessian_batch.safetensors`). The
/// batch is stored rather than re-read from a dataset, so the two
/// implementations see the same pixels whatever their data pipelines do.
public struct ProbeSnapshotNetwork {
    public let path: String
    public let supernet: Supernet<Float>
    public let images: Tensor<Float>
    public let labels: [Int]
    public let step: Int
    public let epoch: Int

    /// The file holding the batch: `inputs` (N×C×H×W, F32) and `labels` (N, I64).
    public static let batchFile = "hessian_batch.safetensors"

    /// Whether the snapshot at `path` was written by a probe (false when it
    /// cannot be read at all: the engine's loader then says why).
    public static func isProbeSnapshot(at path: String) -> Bool {
        (try? LoadedSnapshot.readManifest(at: path))?.object["format"] as? String == ProbeSnapshotManifest.formatName
    }

    public init(path given: String) throws {
        let (folder, data, object) = try LoadedSnapshot.readManifest(at: given)
        let manifestPath = folder + "/" + SnapshotFile.manifest
        guard object["format"] as? String == ProbeSnapshotManifest.formatName else {
            throw SnapshotError.foreign(path: manifestPath, reason: "not a probe's snapshot")
        }
        let manifest = try ProbeSnapshotManifest.decode(data, path: manifestPath)
        guard manifest.layerAlphas == nil else {
            throw SnapshotError.incompatible("\(manifestPath) holds per-layer α (layer_alphas): dartscope hessian rebuilds a probe's supernet with α per cell type only; `genotype` and `export` still read it")
        }
        guard let network = manifest.network else {
            throw SnapshotError.incompatible("\(manifestPath) has no network block: the probe was not told how dartscope can rebuild the model (Probe(network=...), docs/attach.md); `genotype` and `export` still read it")
        }
        guard manifest.files[Self.batchFile] != nil else {
            throw SnapshotError.incompatible("\(folder) holds no \(Self.batchFile): the probe was given no batch for the α-Hessian (probe.curvature(loss_fn, batch=(inputs, labels)), docs/attach.md)")
        }
        let space = try manifest.searchSpace(path: manifestPath)
        let model = try LoadedSnapshot.verified(SnapshotFile.model, in: folder, records: manifest.files)
        let batch = try LoadedSnapshot.verified(Self.batchFile, in: folder, records: manifest.files)
        let (images, labels) = try Self.batch(batch, network: network, path: folder + "/" + Self.batchFile)
        let shape = NetworkShape(inputChannels: network.inChannels, imageSize: images.shape[2], classes: network.classes,
                                 initialChannels: network.initChannels, layers: network.layers)
        try network.validate(shape: shape, cells: manifest.cells, space: space, modelFloats: Self.floatCount(model), path: manifestPath)

        var unused = RandomGenerator(seed: 0)
        let supernet = Supernet<Float>(space: space, shape: shape, generator: &unused)
        let store = supernet.parameters
        let names = network.parameterNames ?? [:]
        // A fresh network, dropped if anything below throws: filled in place.
        for name in store.weightNames {
            store.weights[name]!.scalars = try LoadedSnapshot.floats(names[name] ?? name, count: store.weights[name]!.count, from: model,
                                                                     file: SnapshotFile.model, role: name)
        }
        for (name, cellType) in zip(store.alphaNames, ["normal", "reduce"]) {
            guard let stateDictName = manifest.alphas[cellType] else {
                throw SnapshotError.incompatible("the manifest names no α for the \(cellType) cell, which dartscope's network of this space has")
            }
            store.alphas[name]!.scalars = try LoadedSnapshot.floats(stateDictName, count: store.alphas[name]!.count, from: model,
                                                                    file: SnapshotFile.model, role: name)
        }

        self.path = folder
        self.supernet = supernet
        self.images = images
        self.labels = labels
        (step, epoch) = (manifest.step, manifest.epoch)
    }

    /// The whole spectrum of ∇²α L on the stored batch, beside a Lanczos
    /// estimate on it. No arch-L2 term: the probe measures the loss's
    /// Hessian alone, and this is its counterpart.
    public func curvatureSpectrum(step h: Double = SearchConfig().hessianStep, tolerance: Double = SearchConfig().hessianTolerance,
                                  maxIterations: Int = SearchConfig().hessianMaxIterations,
                                  progress: (Int, Int) -> Void = { _, _ in }) -> CurvatureSpectrum {
        let started = Date()
        var products = HessianVectorProducts(supernet: supernet, input: images, labels: labels, noise: RandomGenerator(seed: 0), step: h, l2: 0)
        return CurvatureSpectrum(measuring: &products, started: started, tolerance: tolerance, maxIterations: maxIterations,
                                 step: step, epoch: epoch, batchIndices: [], progress: progress)
    }

    static func floatCount(_ entries: [String: SafeTensors.Entry]) -> Int {
        entries.values.reduce(0) { total, entry in
            if case .float32(let values) = entry.data { total + values.count } else { total }
        }
    }

    /// The stored batch, checked against the network before it is used.
    static func batch(_ entries: [String: SafeTensors.Entry], network: ProbeSnapshotManifest.Network, path: String) throws -> (Tensor<Float>, [Int]) {
        guard let inputs = entries["inputs"], case .float32(let pixels) = inputs.data else {
            throw SnapshotError.damaged(path: path, reason: "no F32 tensor named inputs")
        }
        guard let labelEntry = entries["labels"], case .int64(let labels) = labelEntry.data, labelEntry.shape.count == 1 else {
            throw SnapshotError.damaged(path: path, reason: "no I64 vector named labels")
        }
        let s = inputs.shape
        guard s.count == 4, s[1] == network.inChannels, s[2] == s[3], s[2] >= 2, s[2] <= 1024 else {
            throw SnapshotError.damaged(path: path, reason: "inputs of shape \(s); the network takes N×\(network.inChannels)×H×H images (2 ≤ H ≤ 1024)")
        }
        guard s[0] >= 2, s[0] == labels.count else {
            throw SnapshotError.damaged(path: path, reason: "\(s[0]) images and \(labels.count) labels; a batch-statistics BN needs at least 2, one label each")
        }
        guard pixels.allSatisfy(\.isFinite) else { throw SnapshotError.damaged(path: path, reason: "inputs hold a non-finite value") }
        if let bad = labels.first(where: { $0 < 0 || $0 >= Int64(network.classes) }) {
            throw SnapshotError.damaged(path: path, reason: "label \(bad) outside the network's \(network.classes) classes")
        }
        return (Tensor(shape: s, scalars: pixels), labels.map { Int($0) })
    }
}

extension ProbeSnapshotManifest {
    /// How dartscope rebuilds the probe's model as its own supernet (written
    /// by `Probe(network=...)`).
    struct Network: Decodable {
        var initChannels: Int
        var layers: Int
        var classes: Int
        var inChannels: Int
        /// dartscope's name → the model's state_dict name, for entries whose
        /// names differ (absent: the reference layout, names equal).
        var parameterNames: [String: String]?

        enum CodingKeys: String, CodingKey {
            case initChannels = "init_channels", layers, classes, inChannels = "in_channels", parameterNames = "parameter_names"
        }

        /// Ranges first, the model's cell types (the manifest's `cells`, as
        /// the model built them) against dartscope's reduction rule, then a
        /// lower bound on the weights this shape needs against the floats the
        /// model file holds — so a hostile manifest cannot make dartscope
        /// allocate a network no file could fill.
        func validate(shape: NetworkShape, cells: [String]?, space: SearchSpace, modelFloats: Int, path: String) throws {
            for (key, value, range) in [("init_channels", initChannels, 1...1024), ("layers", layers, 1...256),
                                        ("classes", classes, 2...100_000), ("in_channels", inChannels, 1...64)] where !range.contains(value) {
                throw SnapshotError.damaged(path: path, reason: "network.\(key) is \(value); allowed \(range.lowerBound)…\(range.upperBound)")
            }
            if let cells {
                let expected = shape.reductionCells.map { $0 ? "reduce" : "normal" }
                guard cells == expected else {
                    throw SnapshotError.incompatible("the model's cells are \(cells.joined(separator: ",")); dartscope's network of \(layers) cells is \(expected.joined(separator: ",")) (reduction at L/3 and 2L/3)")
                }
            }
            let least = Self.leastWeightCount(space: space, shape: shape)
            guard least <= Double(modelFloats) else {
                throw SnapshotError.damaged(path: path, reason: "a network of C = \(initChannels), \(layers) cells needs at least \(Int(least)) weights; \(SnapshotFile.model) holds \(modelFloats) floats")
            }
        }

        /// The stem's conv, every cell's second preprocessing conv and each
        /// parametric candidate's 1×1 conv, and the classifier: weights every
        /// network of this shape holds (in Double, so no product overflows).
        static func leastWeightCount(space: SearchSpace, shape: NetworkShape) -> Double {
            let stem = Double(shape.stemMultiplier * shape.initialChannels)
            var total = stem * Double(shape.inputChannels) * 9
            var previous = stem, current = Double(shape.initialChannels)
            for index in 0..<shape.layers {
                let reduction = shape.isReduction(cell: index)
                if reduction { current *= 2 }
                let parametric = space.operations(reduction: reduction).joined().filter { !$0.isParameterFree }.count
                total += previous * current + Double(parametric) * current * current
                previous = Double(space.topology.nodeCount) * current
            }
            return total + previous * Double(shape.classes)
        }
    }
}
