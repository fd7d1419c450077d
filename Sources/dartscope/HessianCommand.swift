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
        let interactive = isatty(STDERR_FILENO) == 1
        let spectrum = engine.curvatureSpectrum { done, total in
            if interactive {
                FileHandle.standardError.write(Data("\rdartscope: Hessian column \(done)/\(total)\(done == total ? "\n" : "")".utf8))
            } else if done == total || done % 25 == 0 {
                log("dartscope: Hessian column \(done)/\(total)")
            }
        }
        if json {
            let object: JSONValue = .object([
                "snapshot": .string(loaded.path), "step": .integer(spectrum.step), "epoch": .integer(spectrum.epoch),
                "dimension": .integer(spectrum.dimension), "batch_loss": .number(spectrum.batchLoss),
                "eigenvalues": .array(spectrum.eigenvalues.map(JSONValue.number)),
                "full_hessian_hvps": .integer(spectrum.fullHessianProducts), "full_hessian_seconds": .number(spectrum.fullHessianSeconds),
                "lanczos_eigenvalue": .number(spectrum.lanczosEigenvalue), "lanczos_hvps": .integer(spectrum.lanczosProducts),
                "lanczos_relative_error": .number(spectrum.lanczosRelativeError),
                "batch_indices": .array(spectrum.batchIndices.map(JSONValue.integer)),
            ])
            let encoder = TelemetryCoding.lineEncoder()
            print(String(decoding: try encoder.encode(object), as: UTF8.self))
            return
        }
        print(describe(spectrum, batch: config.batchSize))
    }

    private func describe(_ s: CurvatureSpectrum, batch: Int) -> String {
        let descending = Array(s.eigenvalues.reversed())
        let shown = descending.prefix(10).map { String(format: "%.5g", $0) }.joined(separator: "  ")
        let negative = s.eigenvalues.filter { $0 < 0 }.count
        return """
            α-Hessian of the validation loss at step \(s.step) (\(s.epoch) epochs completed), one batch of \(batch), \(s.dimension) coordinates
            full Hessian: \(s.fullHessianProducts) HVPs in \(formatDuration(s.fullHessianSeconds)); batch loss \(String(format: "%.5f", s.batchLoss))
            largest eigenvalues: \(shown)\(descending.count > 10 ? "  …" : "")
            smallest \(String(format: "%.5g", s.eigenvalues.first ?? .nan)), \(negative) negative of \(s.dimension), trace \(String(format: "%.5g", s.eigenvalues.reduce(0, +)))
            Lanczos (the run's estimate): \(String(format: "%.5g", s.lanczosEigenvalue)) after \(s.lanczosProducts) HVPs, relative error \(String(format: "%.2e", s.lanczosRelativeError)) against the largest eigenvalue
            """
    }
}
