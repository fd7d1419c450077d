import Foundation

/// The architecture a snapshot holds — softmax(α), the space it lives in,
/// where the search was — read from a snapshot of dartscope's engine or
/// from one a PyTorch probe wrote (docs/attach.md). What `genotype` and
/// `export` need, and nothing that would need the network itself.
public struct SnapshotArchitecture {
    public let path: String
    public let space: SearchSpace
    /// softmax(α) per cell type: the normal cell's, then the reduction cell's
    /// unless the space shares one; with per-layer α, the mean over the
    /// type's cells.
    public let mixing: [[[Double]]]
    /// softmax(α) of every cell under per-layer α (nil when cells share α),
    /// and which of those cells reduce.
    public let layerMixing: [[[Double]]]?
    let layerReduction: [Bool]?
    public let step: Int
    public let epoch: Int

    public var genotype: Genotype { Genotype(space: space, mixing: mixing) }

    /// `normal` or `reduce`: which type's operations cell `index` chooses from.
    public func cellTypeName(ofCell index: Int) -> String {
        layerReduction?[index] == true ? "reduce" : "normal"
    }

    /// Each cell's own kept edges under per-layer α; nil when cells share α.
    public var layerGenotypes: [[Genotype.Edge]]? {
        guard let layerMixing, let layerReduction else { return nil }
        return Genotype.layers(layerMixing, reductionCells: layerReduction, in: space)
    }

    public init(path given: String) throws {
        let (folder, data, object) = try LoadedSnapshot.readManifest(at: given)
        path = folder
        if object["format"] as? String == ProbeSnapshotManifest.formatName {
            let manifestPath = folder + "/" + SnapshotFile.manifest
            let manifest = try ProbeSnapshotManifest.decode(data, path: manifestPath)
            space = try manifest.searchSpace(path: manifestPath)
            let model = try LoadedSnapshot.verified(SnapshotFile.model, in: folder, records: manifest.files)
            if let layers = try manifest.layerAlphaCells(path: manifestPath) {
                let read = try LoadedSnapshot.mixingWeights(layers.names, in: model, path: folder)
                guard read.count == layers.names.count else {
                    throw SnapshotError.damaged(path: folder + "/" + SnapshotFile.model, reason: "layer_alphas names \(layers.names.count) matrices, the file holds \(read.count) of them")
                }
                (mixing, layerMixing, layerReduction) = try Self.perLayer(read, reductionCells: layers.reduction, space: space, path: folder)
            } else {
                let names = ["normal", "reduce"].compactMap { manifest.alphas[$0] }
                mixing = try LoadedSnapshot.mixingWeights(names, in: model, path: folder)
                (layerMixing, layerReduction) = (nil, nil)
            }
            (step, epoch) = (manifest.step, manifest.epoch)
        } else {
            let loaded = try LoadedSnapshot(path: folder)
            guard let known = SearchSpace.named(loaded.config.space) else {
                throw SnapshotError.incompatible("unknown search space \(loaded.config.space)")
            }
            space = known
            let read = try loaded.mixingWeights()
            (step, epoch) = (loaded.step, loaded.epoch)
            if loaded.config.alphaLayout == .perLayer {
                // Dimensions only matter to the shape's reduction rule.
                let shape = NetworkShape(inputChannels: 1, imageSize: 1, classes: 2, initialChannels: 1, layers: loaded.config.layers)
                (mixing, layerMixing, layerReduction) = try Self.perLayer(read, reductionCells: shape.reductionCells, space: space, path: folder)
            } else {
                (mixing, layerMixing, layerReduction) = (read, nil, nil)
            }
        }
        try Self.requireFit(mixing, count: space.sharesAlphaAcrossCellTypes ? 1 : 2, space: space, path: path)
    }

    /// Per-layer α as read (one matrix per cell): each checked against the
    /// space, and each cell type's mixing, the mean over its cells.
    static func perLayer(_ read: [[[Double]]], reductionCells: [Bool], space: SearchSpace, path: String) throws
        -> (mixing: [[[Double]]], layers: [[[Double]]], reduction: [Bool]) {
        try requireFit(read, count: reductionCells.count, space: space, path: path)
        let cellsByType = AlphaLayout.cellsByType(reductionCells: reductionCells, sharedAcrossTypes: space.sharesAlphaAcrossCellTypes)
        return (AlphaLayout.typeMixing(layerMixing: read, cellsByType: cellsByType), read, reductionCells)
    }

    /// Every matrix must fit the space before the genotype rule indexes it.
    static func requireFit(_ mixing: [[[Double]]], count expected: Int, space: SearchSpace, path: String) throws {
        guard mixing.count == expected, mixing.allSatisfy({ $0.count == space.topology.edgeCount && $0.allSatisfy { $0.count == space.operationsPerEdge } }) else {
            throw SnapshotError.damaged(path: path, reason: "α (\(mixing.map { "\($0.count)×\($0.first?.count ?? 0)" }.joined(separator: ", "))) does not fit the \(space.name) space (\(expected) matrices of \(space.topology.edgeCount)×\(space.operationsPerEdge))")
        }
    }
}

/// The manifest of a probe's snapshot (`format` "dartscope-probe-snapshot",
/// version 1; written by probe/src/dartscope_probe/snapshot.py): the search's
/// position, its space as operation names and wiring, which state_dict
/// entries are α, and the tensor files' sizes and checksums.
struct ProbeSnapshotManifest: Decodable {
    static let formatName = "dartscope-probe-snapshot"
    static let currentVersion = 1

    var version: Int
    var producer: String?
    var space: String?
    var step: Int
    var epoch: Int
    /// Per cell type, per edge, the candidate operations' DARTS names.
    var operations: [String: [[String]]]
    enum CodingKeys: String, CodingKey {
        case version, producer, space, step, epoch, operations, nodeInputs = "node_inputs", alphas, files, network
        case layerAlphas = "layer_alphas", cells
    }
    /// For each intermediate node, the states it reads (0, 1: the cell's inputs).
    var nodeInputs: [[Int]]
    /// Cell type → the state_dict name of its α (empty under per-layer α).
    var alphas: [String: String]
    /// Per-layer α: each cell's α's state_dict name, in cell order.
    var layerAlphas: [String]?
    /// Every cell's type in network order (`normal`, `reduce`), as the model
    /// built them: which α each per-layer cell chooses from, and what
    /// `dartscope hessian` checks against its reduction rule.
    var cells: [String]?
    /// The most cells a per-layer manifest may name (a paper network has 8 to 20).
    static let maximumCells = 1024
    var files: [String: SnapshotManifest.FileRecord]
    /// How dartscope can rebuild the model (`dartscope hessian`); absent for
    /// a model that is not a supernet in dartscope's definition.
    var network: Network?

    static func decode(_ data: Data, path: String) throws -> ProbeSnapshotManifest {
        let manifest: ProbeSnapshotManifest
        do { manifest = try JSONDecoder().decode(ProbeSnapshotManifest.self, from: data) } catch {
            throw SnapshotError.damaged(path: path, reason: "probe manifest fields do not decode: \(error)")
        }
        guard manifest.version == currentVersion else {
            throw SnapshotError.incompatible("\(path) has probe snapshot version \(manifest.version); this dartscope reads version \(currentVersion)")
        }
        guard manifest.step >= 0, manifest.epoch >= 0 else {
            throw SnapshotError.damaged(path: path, reason: "step \(manifest.step), epoch \(manifest.epoch): a position is never negative")
        }
        return manifest
    }

    /// The space the names describe, validated before any initialiser that
    /// insists on consistency sees it (`path` names the manifest in errors).
    func searchSpace(path manifestName: String) throws -> SearchSpace {
        guard !nodeInputs.isEmpty, nodeInputs.count <= 64 else { throw SnapshotError.damaged(path: manifestName, reason: "\(nodeInputs.count) intermediate nodes") }
        for (node, inputs) in nodeInputs.enumerated() {
            guard !inputs.isEmpty, inputs.allSatisfy({ $0 >= 0 && $0 < 2 + node }) else {
                throw SnapshotError.damaged(path: manifestName, reason: "node \(node) reads \(inputs); it may read states 0..<\(2 + node)")
            }
        }
        let topology = CellTopology(nodeInputs: nodeInputs)
        guard alphas["normal"] != nil || layerAlphas != nil, let normalNames = operations["normal"] else {
            throw SnapshotError.damaged(path: manifestName, reason: "no normal cell in alphas and operations")
        }
        func parse(_ names: [[String]], _ cell: String) throws -> [[Operation]] {
            guard names.count == topology.edgeCount else {
                throw SnapshotError.damaged(path: manifestName, reason: "\(names.count) \(cell) edges, the wiring has \(topology.edgeCount)")
            }
            return try names.map { edge in
                try edge.map { name in
                    guard let operation = Operation(rawValue: name) else {
                        throw SnapshotError.incompatible("operation '\(name)' of the \(cell) cell is not one dartscope knows (\(Operation.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    return operation
                }
            }
        }
        let normal = try parse(normalNames, "normal")
        let shared = layerAlphas == nil ? alphas["reduce"] == nil : operations["reduce"] == nil
        let reduce = shared ? normal : try parse(operations["reduce"] ?? [], "reduce")
        let width = normal[0].count
        guard width > 0, (normal + reduce).allSatisfy({ $0.count == width }) else {
            throw SnapshotError.damaged(path: manifestName, reason: "every edge needs the same number of candidate operations")
        }
        return SearchSpace(name: space ?? "probe", topology: topology, normal: normal, reduce: reduce, sharesAlphaAcrossCellTypes: shared)
    }

    /// Under per-layer α: each cell's α name and whether it reduces, checked
    /// (a name per cell, each cell `normal` or `reduce`); nil when cells share α.
    func layerAlphaCells(path manifestName: String) throws -> (names: [String], reduction: [Bool])? {
        guard let layerAlphas else { return nil }
        guard let cells, cells.count == layerAlphas.count, (1...Self.maximumCells).contains(cells.count) else {
            throw SnapshotError.damaged(path: manifestName, reason: "layer_alphas names \(layerAlphas.count) matrices and cells \(cells?.count ?? 0) types: one each, 1 to \(Self.maximumCells) cells")
        }
        let reduction = try cells.map { type -> Bool in
            guard type == "normal" || type == "reduce" else {
                throw SnapshotError.damaged(path: manifestName, reason: "cell type '\(type.prefix(40))' is neither normal nor reduce")
            }
            return type == "reduce"
        }
        return (layerAlphas, reduction)
    }
}
