import DartsTelemetry
import Foundation
import Testing

/// The JSON Lines form is the contract with other producers (docs/telemetry.md):
/// every event type must survive a round trip and keep its field names.
@Suite struct TelemetryEventTests {
    static let events: [TelemetryEvent.Payload] = [
        .run(RunDescription(producer: "test", runName: "r", space: "s3", dataset: "synthetic", epochs: 2, stepsPerEpoch: 4,
                            cells: ["normal", "reduce", "normal"], cellTypes: ["normal", "reduce"], edgeLabels: ["e0", "e1"],
                            operations: ["normal": [["none", "skip_connect"], ["none", "skip_connect"]]],
                            parameters: [ParameterDescriptor(key: "lambda.value", kind: .real(0...10), isLive: true, documentation: "λ")],
                            values: ["lambda.value": .real(0.125), "search.epochs": .integer(2), "lambda.enabled": .flag(true), "lambda.variant": .text("corr")])),
        .step(StepMetrics(trainLoss: 2.3, trainAccuracy: 0.1, validLoss: 2.2, validAccuracy: 0.15, learningRate: 0.025,
                          gradientNorm: 1.5, clipFactor: 1, stepTime: 0.2)),
        .epoch({
            var epoch = EpochMetrics(trainLoss: 1, trainAccuracy: 0.5, validLoss: 1.1, validAccuracy: 0.45, genotype: "Genotype(...)",
                                     skipCount: 3, learningRate: 0.02)
            epoch.regret = 0.04
            return epoch
        }()),
        .alphas(AlphaMetrics(cellTypes: [.init(name: "normal", softmax: [[0.25, 0.75]], genotypeMarks: [[0, 1]]),
                                         .init(name: "reduce", softmax: [[0.5, 0.5]], genotypeMarks: [[0, 0]])],
                             genotype: GenotypeDescription(normal: [.init(operation: "skip_connect", input: 0)], reduce: [], concat: 2..<3))),
        .alignment(AlignmentMetrics(cellTypes: [.init(name: "normal", trainCosine: [[1, 0.5], [0.5, 1]], validCosine: [[1, -0.5], [-0.5, 1]],
                                                      trainCorrelation: 0.5, validCorrelation: -0.5),
                                                .init(name: "reduce", trainCosine: [[1]], validCosine: [[1]], trainCorrelation: nil, validCorrelation: nil)],
                                    layerAlphaGradients: [[[0.1, -0.1]]])),
        .hessian(HessianMetrics(eigenvalue: 0.3, productCount: 9, lanczosIterations: 8, seconds: 1.2, batchLoss: 2, atEpochEnd: true)),
        .earlyStopping(EarlyStoppingReport(eigenvalue: 0.3, localAverage: nil, localAverageEpoch: 0, threshold: 0.4, triggered: false, action: "notify")),
        .earlyStop(EarlyStop(stopEpoch: 3, genotype: "G", reason: "cap")),
        .adaptation(Adaptation(rolledBackTo: "epoch-0004", weightDecay: 9e-4)),
        .lambda(LambdaHealth(lambda: 0.1, epsilon: 1e-4, taskGradientNorm: 2, regulariserGradientNorm: 30, cosine: 0.02,
                             clipFactor: 0.1, variant: "corr", differenceMode: "frozen")),
        .control(ControlApplied(command: "set lambda.value 0.3", key: "lambda.value")),
        .snapshot(SnapshotWritten(name: "epoch-0001", command: "epoch end")),
        .error(ErrorReport(message: "disk full")),
        .diverged(Divergence(reason: "validation loss nan")),
        .fork(ForkReport(from: "a", to: "b", snapshot: "runs/a/snapshots/fork-b")),
        .alphas(AlphaMetrics(cellTypes: [.init(name: "normal", softmax: [[0.25, 0.75]], genotypeMarks: [[0, 1]])],
                             genotype: nil,
                             layers: [.init(softmax: [[0.1, 0.9]], genotypeMarks: [[0, 1]], parameterFreeCount: 1),
                                      .init(softmax: [[0.4, 0.6]], genotypeMarks: [[0, 1]], parameterFreeCount: 0)])),
    ]

    @Test(arguments: events.indices)
    func roundTrip(index: Int) throws {
        let event = TelemetryEvent(step: 7, epoch: 1, wallTime: 3.5, payload: Self.events[index])
        let line = event.jsonLine()
        #expect(!line.contains("\n"))
        #expect(try TelemetryEvent(jsonLine: line) == event, "\(line)")
        let generic = MetricEvent(event)
        #expect(generic.type == event.type && generic.step == 7 && generic.epoch == 1 && generic.wallTime == 3.5)
    }

    @Test func fieldNamesAreTheDocumentedOnes() throws {
        let step = MetricEvent(TelemetryEvent(step: 1, epoch: 0, wallTime: 0, payload: Self.events[1]))
        #expect(Set(step.fields.keys) == ["train_loss", "train_acc", "valid_loss", "valid_acc", "lr", "grad_norm", "clip_factor", "step_time"])
        let alignment = MetricEvent(TelemetryEvent(step: 1, epoch: 0, wallTime: 0, payload: Self.events[4]))
        #expect(alignment["train_corr_reduce"] == .null)  // no pairs is a value, written as null
        #expect(alignment["valid_corr_normal"] == .number(-0.5))
        let hessian = MetricEvent(TelemetryEvent(step: 1, epoch: 0, wallTime: 0, payload: Self.events[5]))
        #expect(hessian["hvps"] == .integer(9) && hessian["epoch_end"] == .bool(true))
    }

    @Test func nonFiniteNumbersStayVisible() throws {
        var step = StepMetrics(trainLoss: .nan, trainAccuracy: 0, validLoss: .infinity, validAccuracy: 0, learningRate: 0,
                               gradientNorm: -.infinity, clipFactor: 1, stepTime: 0)
        let line = TelemetryEvent(step: 1, epoch: 0, wallTime: 0, payload: .step(step)).jsonLine()
        #expect(line.contains("\"train_loss\":\"nan\"") && line.contains("\"valid_loss\":\"inf\"") && line.contains("\"grad_norm\":\"-inf\""))
        guard case .step(let decoded) = try TelemetryEvent(jsonLine: line).payload else { Issue.record("not a step"); return }
        #expect(decoded.trainLoss.isNaN && decoded.validLoss == .infinity && decoded.gradientNorm == -.infinity)
        step.trainLoss = 1
        #expect(MetricEvent(TelemetryEvent(step: 1, epoch: 0, wallTime: 0, payload: .step(step)))["train_loss"] == .integer(1))
    }

    @Test func unknownTypesAreKept() throws {
        let line = #"{"type":"sdarts","step":3,"epoch":0,"wall_time":1.5,"radius":0.03}"#
        let event = try TelemetryEvent(jsonLine: line)
        #expect(event.type == "sdarts")
        #expect(event.payload == .unknown(type: "sdarts", fields: ["radius": .number(0.03)]))
        #expect(try TelemetryEvent(jsonLine: event.jsonLine()) == event)
    }

    @Test func missingHeaderIsAnError() {
        #expect(throws: DecodingError.self) { try TelemetryEvent(jsonLine: #"{"type":"step","epoch":0,"wall_time":1}"#) }
    }

    @Test func configValuesArePlainScalarsAndOldJournalsStillDecode() throws {
        let command = ControlCommand.set(key: "lambda.value", value: .real(0.25))
        let data = try JSONEncoder().encode(command)
        #expect(String(decoding: data, as: UTF8.self).contains(#""value":0.25"#))
        #expect(try JSONDecoder().decode(ControlCommand.self, from: data) == command)
        let legacy = #"{"set":{"key":"es.action","value":{"text":{"_0":"stop"}}}}"#
        #expect(try JSONDecoder().decode(ControlCommand.self, from: Data(legacy.utf8)) == .set(key: "es.action", value: .text("stop")))
        let legacyReal = #"{"set":{"key":"optim.lr","value":{"real":{"_0":0.05}}}}"#
        #expect(try JSONDecoder().decode(ControlCommand.self, from: Data(legacyReal.utf8)) == .set(key: "optim.lr", value: .real(0.05)))
    }

    @Test func descriptorsValidateLiveChanges() throws {
        let parameters = [ParameterDescriptor(key: "lambda.value", kind: .real(0...10), isLive: true, documentation: ""),
                          ParameterDescriptor(key: "network.layers", kind: .integer(1...64), isLive: false, documentation: "")]
        #expect(try parameters.liveChange("lambda.value", to: .integer(2)) == .real(2))
        #expect(throws: ConfigError.notLive("network.layers")) { try parameters.liveChange("network.layers", to: .integer(3)) }
        #expect(throws: ConfigError.unknownKey("lambda.valeu", suggestion: "lambda.value")) { try parameters.liveChange("lambda.valeu", to: .integer(3)) }
        #expect(throws: ConfigError.invalidValue(key: "lambda.value", value: "11", allowed: "a number in 0…10.0")) {
            try parameters.liveChange("lambda.value", to: .integer(11))
        }
    }

    /// `cells` names each cell's own type; with one shared α (`cell_types`
    /// `["normal"]`) a reduction cell still mixes with that α.
    @Test func cellsMixWithTheirTypesAlphaOrTheSharedOne() {
        var run = RunDescription.empty
        run.cells = ["normal", "reduce", "normal", "reduce", "normal"]
        run.cellTypes = ["normal", "reduce"]
        #expect(run.cells(mixingAlphaOf: "normal") == [0, 2, 4] && run.cells(mixingAlphaOf: "reduce") == [1, 3])
        #expect(run.alphaType(ofCell: 1) == "reduce")
        run.cellTypes = ["normal"]
        #expect(run.cells(mixingAlphaOf: "normal") == [0, 1, 2, 3, 4] && run.cells(mixingAlphaOf: "reduce").isEmpty)
        #expect(run.alphaType(ofCell: 3) == "normal" && run.cellType(ofCell: 3) == "reduce")
    }
}
