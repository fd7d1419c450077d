import Foundation
import Testing
@testable import DartsEngine

/// The remedy seam: the registry's parameters, and each hook as the engine calls it.
@Suite("remedies")
struct RemedyTests {
    @Test func everyDeclaredParameterIsInTheTableOnceWithAValidDefault() throws {
        let keys = SearchParameters.all.map(\.key)
        #expect(Set(keys).count == keys.count, "duplicate keys")
        for remedy in Remedies.all {
            for parameter in remedy.parameters {
                #expect(keys.contains(parameter.key), "\(remedy.name): \(parameter.key) missing from the table")
                let value = try #require(parameter.defaultValue, "\(parameter.key) has no default")
                #expect(try parameter.validate(value) == value, "\(parameter.key)'s default is outside its own range")
                #expect(try SearchConfig().value(of: parameter.key) == value)
            }
        }
    }

    @Test func theConfigEncodesAsParameterKeysAndIsValidatedWhenRead() throws {
        var config = SearchConfig()
        config.lambdaValue = 0.3
        config.esAction = .ada
        config.layers = 5
        let data = try JSONEncoder().encode(config)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["lambda.value"] as? Double == 0.3 && object["es.action"] as? String == "ada" && object["network.layers"] as? Int == 5)
        #expect(try JSONDecoder().decode(SearchConfig.self, from: data) == config)
        let hostile = Data(#"{"network.init_channels": 1000000000}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SearchConfig.self, from: hostile) }
        let unknown = Data(#"{"lambda.valeu": 1}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SearchConfig.self, from: unknown) }
    }

    /// Counts its calls and zeroes the α-gradient.
    final class FreezeArchitecture: Remedy, @unchecked Sendable {
        static let name = "test-freeze"
        static let summary = ""
        static let parameters: [ParameterSpec] = []
        var calls = 0
        init() {}
        func adjustArchitectureGradient(_ gradients: inout [String: Tensor<Float>], engine: SearchEngine) {
            calls += 1
            for name in gradients.keys { gradients[name] = Tensor(zeros: gradients[name]!.shape) }
        }
    }

    @Test func anArchitectureStepModifierChangesTheUpdate() throws {
        var config = EngineFixture.config(epochs: 1)
        config.archWeightDecay = 0
        let (engine, _) = try EngineFixture.engine(config)
        let freeze = FreezeArchitecture()
        engine.remedies.append(freeze)
        let before = engine.supernet.parameters.alphas
        engine.runStep()
        engine.runStep()
        #expect(freeze.calls == 2)
        #expect(engine.supernet.parameters.alphas == before, "a zero α-gradient without L2 leaves α where it was")
    }

    /// Shifts one α coordinate for the weight step only.
    struct ShiftAlpha: Remedy {
        static let name = "test-shift"
        static let summary = ""
        static let parameters: [ParameterSpec] = []
        init() {}
        func perturbWeightStepAlphas(_ alphas: inout [String: Tensor<Float>], engine: SearchEngine) -> Bool {
            alphas["alphas_normal"]!.scalars[0] += 5
            return true
        }
    }

    @Test func aWeightStepPerturbationOfAlphaIsUndoneAfterTheStep() throws {
        let config = EngineFixture.config(epochs: 1)
        let (plain, recordPlain) = try EngineFixture.engine(config)
        let (shifted, recordShifted) = try EngineFixture.engine(config)
        shifted.remedies.append(ShiftAlpha())
        plain.runStep()
        shifted.runStep()
        // The architecture step comes first and sees the same α: α after the step is the same...
        #expect(plain.supernet.parameters.alphas == shifted.supernet.parameters.alphas)
        // ... while the weight step mixed differently, so the weights (and its loss) differ.
        #expect(plain.supernet.parameters.weights != shifted.supernet.parameters.weights)
        #expect(recordPlain.comparable(types: ["step"]) != recordShifted.comparable(types: ["step"]))
    }
}
