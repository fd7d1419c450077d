import DartsEngine
import Foundation
import Testing

/// The supernet's state_dict keys and shapes against those PyTorch reports for
/// the same configuration (Fixtures/state_dict_keys.json, written once by
/// Fixtures/make_state_dict_keys.py from Benchmarks/torch_supernet.py).
@Suite("state_dict fixture")
struct StateDictFixtureTests {
    struct Entry: Decodable {
        struct Config: Decodable {
            var space: String
            var in_channels: Int
            var classes: Int
            var C: Int
            var layers: Int
        }
        var config: Config
        var parameter_count: Int
        var state_dict: [[StringOrShape]]
    }

    enum StringOrShape: Decodable {
        case name(String)
        case shape([Int])
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let name = try? container.decode(String.self) { self = .name(name) } else { self = .shape(try container.decode([Int].self)) }
        }
    }

    static func load() throws -> [String: Entry] {
        let url = try #require(Bundle.module.url(forResource: "state_dict_keys", withExtension: "json"))
        return try JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: url))
    }

    @Test func keysShapesAndOrderMatchPyTorch() throws {
        let fixtures = try Self.load()
        #expect(fixtures.count == 4)
        for (name, fixture) in fixtures {
            let c = fixture.config
            var generator = RandomGenerator(seed: 0)
            let net = Supernet<Float>(
                space: try #require(SearchSpace.named(c.space)),
                shape: .init(inputChannels: c.in_channels, imageSize: 28, classes: c.classes, initialChannels: c.C, layers: c.layers),
                generator: &generator)
            let expected: [(String, [Int])] = fixture.state_dict.map {
                guard case .name(let key) = $0[0], case .shape(let shape) = $0[1] else { return ("?", []) }
                return (key, shape)
            }
            let actual = net.parameters.stateDictShapes
            #expect(actual.map(\.name) == expected.map(\.0), "\(name): key lists differ")
            #expect(actual.map(\.shape) == expected.map(\.1), "\(name): shapes differ")
            #expect(net.parameters.weightCount == fixture.parameter_count, "\(name)")
        }
    }
}
