import ArgumentParser
import DartsEngine
import Foundation

/// The on-demand full α-Hessian (DESIGN §5): what the run's Lanczos estimate
/// summarises, at the point a snapshot froze.
struct HessianCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hessian",
        abstract: "Compute the full α-Hessian of the validation loss at a snapshot and print its spectrum.",
        discussion: """
            Uses the batch, noise, finite-difference step and arch L2 that the run's next eigenvalue \
            measurement would use, and prints the run's Lanczos estimate on that batch beside the true \
            largest eigenvalue. Costs one Hessian-vector product per α coordinate (progress on stderr).
            """)

    @Argument(help: "Snapshot folder (runs/NAME/snapshots/SNAP).")
    var snapshot: String

    @Option(help: "Dataset folder, if it moved since the snapshot was taken.")
    var data: String?

    @Flag(help: "Print JSON (all eigenvalues and the Lanczos comparison).")
    var json = false

    func run() throws {
        if ProbeSnapshotNetwork.isProbeSnapshot(at: snapshot) { return try runOnProbeSnapshot() }
        let loaded: LoadedSnapshot
        do { loaded = try LoadedSnapshot(path: snapshot) } catch { throw ValidationError("\(error)") }
        var config = loaded.config
        if let data { config.dataDirectory = data }
        let engine: SearchEngine
        do {
            setThreadCount(config.threads)
            engine = try SearchEngine(config: config, dataset: try loadDataset(for: config))
            try engine.restore(loaded)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
        let spectrum = engine.curvatureSpectrum(progress: Self.reportColumn)
        try report(spectrum, snapshot: loaded.path, batch: config.batchSize, batchSource: nil)
    }

    /// A PyTorch search's snapshot, rebuilt as dartscope's supernet on the
    /// batch the probe stored (ProbeSnapshotNetwork).
    private func runOnProbeSnapshot() throws {
        let network: ProbeSnapshotNetwork
        do { network = try ProbeSnapshotNetwork(path: snapshot) } catch { throw ValidationError("\(error)") }
        let spectrum = network.curvatureSpectrum(progress: Self.reportColumn)
        try report(spectrum, snapshot: network.path, batch: network.labels.count,
                   batchSource: network.path + "/" + ProbeSnapshotNetwork.batchFile)
    }

    private static func reportColumn(done: Int, total: Int) {
        if isatty(STDERR_FILENO) == 1 {
            FileHandle.standardError.write(Data("\rdartscope: Hessian column \(done)/\(total)\(done == total ? "\n" : "")".utf8))
        } else if done == total || done % 25 == 0 {
            log("dartscope: Hessian column \(done)/\(total)")
        }
    }

    /// `batchSource`: the file of a stored batch (a probe's), else the batch
    /// is named by its dataset indices.
    private func report(_ spectrum: CurvatureSpectrum, snapshot path: String, batch: Int, batchSource: String?) throws {
        if json {
            var fields: [String: JSONValue] = [
                "snapshot": .string(path), "step": .integer(spectrum.step), "epoch": .integer(spectrum.epoch),
                "dimension": .integer(spectrum.dimension), "batch_loss": .number(spectrum.batchLoss),
                "eigenvalues": .array(spectrum.eigenvalues.map(JSONValue.number)),
                "full_hessian_hvps": .integer(spectrum.fullHessianProducts), "full_hessian_seconds": .number(spectrum.fullHessianSeconds),
                "lanczos_eigenvalue": .number(spectrum.lanczosEigenvalue), "lanczos_hvps": .integer(spectrum.lanczosProducts),
                "lanczos_relative_error": .number(spectrum.lanczosRelativeError),
                "batch_indices": .array(spectrum.batchIndices.map(JSONValue.integer)),
            ]
            if let batchSource { fields["batch_file"] = .string(batchSource) }
            let object: JSONValue = .object(fields)
            let encoder = TelemetryCoding.lineEncoder()
            print(String(decoding: try encoder.encode(object), as: UTF8.self))
            return
        }
        print(describe(spectrum, batch: batch, batchSource: batchSource))
    }

    private func describe(_ s: CurvatureSpectrum, batch: Int, batchSource: String?) -> String {
        let descending = Array(s.eigenvalues.reversed())
        let shown = descending.prefix(10).map { String(format: "%.5g", $0) }.joined(separator: "  ")
        let negative = s.eigenvalues.filter { $0 < 0 }.count
        return """
            α-Hessian of the validation loss at step \(s.step) (\(s.epoch) epochs completed), one batch of \(batch)\(batchSource.map { " from \($0), no arch-L2 term" } ?? ""), \(s.dimension) coordinates
            full Hessian: \(s.fullHessianProducts) HVPs in \(formatDuration(s.fullHessianSeconds)); batch loss \(String(format: "%.5f", s.batchLoss))
            largest eigenvalues: \(shown)\(descending.count > 10 ? "  …" : "")
            smallest \(String(format: "%.5g", s.eigenvalues.first ?? .nan)), \(negative) negative of \(s.dimension), trace \(String(format: "%.5g", s.eigenvalues.reduce(0, +)))
            Lanczos (the run's estimate): \(String(format: "%.5g", s.lanczosEigenvalue)) after \(s.lanczosProducts) HVPs, relative error \(String(format: "%.2e", s.lanczosRelativeError)) against the largest eigenvalue
            """
    }
}
