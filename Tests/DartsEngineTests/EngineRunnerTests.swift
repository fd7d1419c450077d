import DartsEngine
import Foundation
import Testing

@Suite("engine runner and control queue")
struct EngineRunnerTests {
    /// Polls the store until `condition` holds (or fails after a timeout).
    func waitFor(_ store: MetricsStore, timeout: TimeInterval = 20, _ condition: (MetricsSnapshot) -> Bool) -> MetricsSnapshot {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let snapshot = store.snapshot()
            if condition(snapshot) { return snapshot }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return store.snapshot()
    }

    @Test func pauseStepSetAndStopAtStepBoundaries() throws {
        let (engine, _) = try EngineFixture.engine(EngineFixture.config(epochs: 50))
        let runner = SearchRun(engine: engine, startPaused: true)
        runner.start()
        Thread.sleep(forTimeInterval: 0.2)
        #expect(runner.store.snapshot().step == 0, "a paused runner must not step")
        #expect(runner.store.snapshot().state == .paused)

        runner.queue.send(.step(count: 3))
        var snapshot = waitFor(runner.store) { $0.step == 3 && $0.state == .paused }
        #expect(snapshot.step == 3)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(runner.store.snapshot().step == 3, "stepping must stop after exactly three steps")

        runner.queue.send(.set(key: "optim.weight_decay", value: .real(0.0081)))
        runner.queue.send(.set(key: "optim.weight_decay", value: .text("abc")))
        snapshot = waitFor(runner.store) { $0.real("optim.weight_decay") == 0.0081 && $0.messages.contains { $0.hasPrefix("error:") } }
        #expect(snapshot.real("optim.weight_decay") == 0.0081)
        #expect(snapshot.parameterChanges["optim.weight_decay"] == 3)
        #expect(snapshot.messages.contains { $0.contains("invalid value 'abc' for optim.weight_decay") })

        runner.queue.send(.resume)
        snapshot = waitFor(runner.store) { $0.step >= 6 }
        #expect(snapshot.state == .running)
        runner.queue.send(.stop)
        runner.waitUntilFinished()
        #expect(runner.store.snapshot().state == .stopped)
        #expect(engine.journal.map(\.command).contains(.set(key: "optim.weight_decay", value: .real(0.0081))))
        #expect(engine.journal.last?.command == .stop)
    }

    @Test func ringBufferKeepsTheNewest() {
        var ring = RingBuffer<Int>(capacity: 3)
        for i in 1...5 { ring.append(i) }
        #expect(ring.elements == [3, 4, 5])
        #expect(ring.last == 5 && ring.count == 3)
    }
}
