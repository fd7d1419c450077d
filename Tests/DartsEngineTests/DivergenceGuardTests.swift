@testable import DartsEngine
import Foundation
import Testing

/// The one divergence guard: whatever goes non-finite first ends the run with
/// a `diverged` event naming it, and nothing non-finite reaches a snapshot.
@Suite("divergence guard")
struct DivergenceGuardTests {
    /// The hostile case of issue 17: a step size that blows the weights up.
    /// Every snapshot written before the divergence holds only finite numbers,
    /// none is written after it, and rolling back to the last one revives the run.
    @Test func explodingWeightsDivergeAndNoSnapshotHoldsANonFiniteValue() throws {
        var config = EngineFixture.config(epochs: 30)
        config.weightDecay = 1
        config.learningRate = 10
        config.gradientClip = 1e6
        let folder = EngineFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (engine, recorder) = try EngineFixture.engine(config, snapshots: folder)
        while !engine.isFinished { engine.runStep() }
        let reason = try #require(engine.divergence, "lr 10 with weight decay 1 must diverge within 30 epochs")
        #expect(recorder.events.filter { $0.type == "diverged" }.count == 1)
        #expect(recorder.events.last?.type == "diverged", "nothing is reported after the divergence: \(reason)")
        #expect(engine.epoch < config.epochs)

        #expect(throws: SnapshotError.self) { try engine.writeSnapshot(name: "after", in: folder) }
        let written = LoadedSnapshot.names(in: folder)
        #expect(!written.contains("after"))
        for name in written {
            let (twin, _) = try EngineFixture.engine(config)
            try twin.restore(LoadedSnapshot(path: folder + "/" + name))
            #expect(twin.firstNonFiniteTensor() == nil, "snapshot \(name) holds a non-finite value")
        }
        if let last = written.last {
            _ = try engine.apply(.rollback(name: last))
            #expect(engine.divergence == nil && !engine.isFinished, "rollback revives a diverged run")
        }
    }

    /// A batch-norm statistic the steps never read still stops the run, at the
    /// step that made it non-finite, with the buffer's name.
    @Test func aNonFiniteRunningVarianceIsNamed() throws {
        let (engine, recorder) = try EngineFixture.engine(EngineFixture.config(epochs: 1))
        engine.runStep()
        let prefix = engine.supernet.parameters.entries.compactMap { entry -> String? in
            if case .batchNorm(let prefix) = entry { prefix } else { nil }
        }.last!
        engine.supernet.parameters.batchNorms[prefix]!.runningVariance.scalars[0] = .infinity
        engine.runStep()
        let reason = try #require(engine.divergence)
        #expect(reason.contains(prefix + ".running_var"), "\(reason)")
        #expect(recorder.events.last?.type == "diverged")
    }

    /// A non-finite eigenvalue is not reported as a measurement: it ends the run.
    @Test func aNonFiniteMeasurementDiverges() throws {
        let (engine, recorder) = try EngineFixture.engine(EngineFixture.config(epochs: 1))
        engine.runStep()
        #expect(!engine.requireFinite(.nan, "the dominant α-Hessian eigenvalue"))
        #expect(engine.divergence == "the dominant α-Hessian eigenvalue is NaN at step 1")
        #expect(!engine.requireFinite(.infinity, "another value"))
        #expect(engine.divergence == "the dominant α-Hessian eigenvalue is NaN at step 1", "the first reason wins")
        #expect(recorder.events.filter { $0.type == "diverged" }.count == 1)
    }
}
