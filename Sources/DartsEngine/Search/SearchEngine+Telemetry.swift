import Foundation

extension SearchEngine {
    /// The run as telemetry describes it: the first event of its metrics
    /// stream and what a dashboard lays itself out from.
    public var runDescription: RunDescription {
        let space = supernet.space
        let types = supernet.cellTypeNames
        var operations: [String: [[String]]] = [:]
        for (index, type) in types.enumerated() {
            operations[type] = space.operations(reduction: index == 1).map { $0.map(\.rawValue) }
        }
        var description = RunDescription(
            producer: "dartscope", runName: config.runName, space: space.name, dataset: dataset.name,
            epochs: config.epochs, stepsPerEpoch: stepsPerEpoch,
            cells: (0..<supernet.shape.layers).map { supernet.isReduction(cell: $0) ? "reduce" : "normal" },
            cellTypes: types, edgeLabels: (0..<space.topology.edgeCount).map { space.topology.edgeLabel($0) },
            operations: operations, parameters: SearchParameters.all.map(\.descriptor), values: parameterValues)
        description.groundTruth = tabular.map { table in
            (config.tabularTable.isEmpty ? "shipped table" : (config.tabularTable as NSString).lastPathComponent) + ": " + table.summary
        }
        return description
    }

    /// Every parameter's current value, by key.
    public var parameterValues: [String: ConfigValue] {
        Dictionary(uniqueKeysWithValues: SearchParameters.all.map { ($0.key, $0.read(config)) })
    }

    /// Announces the run to the sinks (the `run` event that opens a metrics stream).
    public func emitRunDescription() { emit(.run(runDescription)) }
}
