import DartsEngine
import Foundation
import Testing

/// The supernet, its gradients and its α-Hessian against PyTorch (float64,
/// double backward) on the same weights and batch: Fixtures/hessian_fixture.json,
/// written once by Fixtures/make_hessian_fixture.py.
@Suite("PyTorch fixtures")
struct PyTorchFixtureTests {
    struct Case: Decodable {
        var space: String
        var C: Int
        var layers: Int
        var size: Int
        var batch: Int
        var classes: Int
        var input: [Double]
        var labels: [Int]
        var parameters: [String: [Double]]
        var loss: Double
        var alpha_gradient: [Double]
        var weight_gradients: [String: [Double]]
        var directions: [[Double]]
        var hvps: [[Double]]
        var hessian: [[Double]]
        var eigenvalues: [Double]
    }

    static let cases: [String: Case] = {
        guard let url = Bundle.module.url(forResource: "hessian_fixture", withExtension: "json"),
              let data = try? Data(contentsOf: url),
              let decoded = try? JSONDecoder().decode([String: Case].self, from: data) else { return [:] }
        return decoded
    }()

    /// A supernet holding the fixture's weights, BN buffers and α.
    static func network<Scalar: TensorScalar>(_ c: Case, as _: Scalar.Type) -> (Supernet<Scalar>, Tensor<Scalar>) {
        var generator = RandomGenerator(seed: 0)
        let net = Supernet<Scalar>(space: SearchSpace.named(c.space)!, shape: .init(inputChannels: 1, imageSize: c.size, classes: c.classes, initialChannels: c.C, layers: c.layers), generator: &generator)
        for name in net.parameters.weightNames {
            net.parameters.weights[name] = Tensor(shape: net.parameters.weights[name]!.shape, scalars: c.parameters[name]!.map { Scalar($0) })
        }
        for name in net.parameters.alphaNames {
            net.parameters.alphas[name] = Tensor(shape: net.parameters.alphas[name]!.shape, scalars: c.parameters[name]!.map { Scalar($0) })
        }
        let input = Tensor<Scalar>(shape: [c.batch, 1, c.size, c.size], scalars: c.input.map { Scalar($0) })
        return (net, input)
    }

    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        let difference = zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        return difference / max(b.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-300)
    }

    @Test(arguments: ["tiny", "s3", "darts"])
    func lossAndGradientsMatchPyTorch(_ name: String) throws {
        let c = try #require(Self.cases[name], "fixture missing")
        let (net, input) = Self.network(c, as: Double.self)
        let tape = Tape<Double>()
        var noise = RandomGenerator(seed: 0)
        let pass = net.forward(input, on: tape, batchNormMode: .batchStatistics, generator: &noise)
        let loss = pass.logits.crossEntropy(labels: c.labels)
        tape.backward(from: loss)
        #expect(abs(loss.value.scalars[0] - c.loss) < 1e-12, "loss \(loss.value.scalars[0]) vs PyTorch \(c.loss)")
        let alphaGradient = pass.alphas.flatMap { $0.grad!.scalars }
        #expect(Self.relativeError(alphaGradient, c.alpha_gradient) < 1e-10)
        var worst = 0.0
        for (weight, expected) in c.weight_gradients {
            let actual = try #require(pass.weights[weight]?.grad, "no gradient for \(weight)")
            worst = max(worst, Self.relativeError(actual.scalars, expected))
        }
        #expect(c.weight_gradients.count == net.parameters.weightNames.count)
        #expect(worst < 1e-9, "worst relative weight-gradient error \(worst)")
    }

    @Test(arguments: ["tiny", "s3", "darts"])
    func hessianVectorProductsAreExact(_ name: String) throws {
        let c = try #require(Self.cases[name], "fixture missing")
        let (net, input) = Self.network(c, as: Double.self)
        var hvp = HessianVectorProducts(supernet: net, input: input, labels: c.labels, noise: RandomGenerator(seed: 0), step: 1e-4, l2: 0)
        for (direction, expected) in zip(c.directions, c.hvps) {
            let product = hvp.flatten(hvp.product(hvp.unflatten(direction)))
            #expect(Self.relativeError(product, expected) < 1e-6, "relative error \(Self.relativeError(product, expected))")
        }
        #expect(net.parameters.alphas.values.map(\.scalars).flatMap { $0 }.count == c.alpha_gradient.count)
    }

    @Test func plainCentralDifferencesWouldFail() throws {
        // The same difference quotient with the activation pattern recomputed
        // in each pass (the naive approach) crosses ReLU/max-pool kinks.
        let c = try #require(Self.cases["s3"])
        let (net, input) = Self.network(c, as: Double.self)
        let names = net.parameters.alphaNames
        let alpha = names.map { net.parameters.alphas[$0]! }
        func gradient(_ shift: Double, _ v: [Double]) -> [Double] {
            var offset = 0
            for (name, a) in zip(names, alpha) {
                var shifted = a
                for i in 0..<a.count { shifted.scalars[i] += shift * v[offset + i] }
                net.parameters.alphas[name] = shifted
                offset += a.count
            }
            defer { for (name, a) in zip(names, alpha) { net.parameters.alphas[name] = a } }
            let tape = Tape<Double>()
            var noise = RandomGenerator(seed: 0)
            let pass = net.forward(input, on: tape, batchNormMode: .batchStatistics, generator: &noise)
            tape.backward(from: pass.logits.crossEntropy(labels: c.labels))
            return pass.alphas.flatMap { $0.grad!.scalars }
        }
        let v = c.directions[0], exact = c.hvps[0]
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var errors: [Double] = []
        for h in [1e-2, 1e-3] {
            let step = h / norm
            let plain = zip(gradient(step, v), gradient(-step, v)).map { ($0 - $1) / (2 * step) }
            errors.append(Self.relativeError(plain, exact))
        }
        #expect(errors.allSatisfy { $0 > 0.05 }, "plain central-difference errors \(errors) should be large")
    }

    @Test(arguments: ["tiny", "s3"])
    func fullHessianAndLanczosMatchPyTorch(_ name: String) throws {
        let c = try #require(Self.cases[name])
        let (net, input) = Self.network(c, as: Double.self)
        var hvp = HessianVectorProducts(supernet: net, input: input, labels: c.labels, noise: RandomGenerator(seed: 0), step: 1e-4, l2: 0)
        let hessian = hvp.fullHessian()
        let scale = c.hessian.flatMap { $0.map(abs) }.max()!
        let worst = zip(hessian.flatMap { $0 }, c.hessian.flatMap { $0 }).map { abs($0 - $1) }.max()!
        #expect(worst / scale < 1e-6, "full Hessian max error \(worst) (scale \(scale))")
        let spectrum = SymmetricEigen.eigenvalues(hessian)
        #expect(Self.relativeError(spectrum, c.eigenvalues) < 1e-6)
        var lanczos = HessianVectorProducts(supernet: net, input: input, labels: c.labels, noise: RandomGenerator(seed: 0), step: 1e-4, l2: 0)
        let (top, iterations) = lanczos.dominantEigenvalue(tolerance: 1e-6, maxIterations: 60)
        let largest = c.eigenvalues.max()!
        #expect(abs(top - largest) / abs(largest) < 1e-4, "Lanczos \(top) after \(iterations) HVPs vs largest eigenvalue \(largest)")
        #expect(lanczos.count == iterations)
    }

    @Test func tinyHasADominantNegativeEigenvalueThatLanczosDoesNotReturn() throws {
        // Largest magnitude −2.25, largest algebraic +0.62: R-DARTS reports the latter.
        let c = try #require(Self.cases["tiny"])
        #expect(abs(c.eigenvalues.min()!) > c.eigenvalues.max()!)
        let (net, input) = Self.network(c, as: Double.self)
        var hvp = HessianVectorProducts(supernet: net, input: input, labels: c.labels, noise: RandomGenerator(seed: 3), step: 1e-4, l2: 0)
        #expect(abs(hvp.dominantEigenvalue(tolerance: 1e-8).value - c.eigenvalues.max()!) < 1e-5)
    }

    @Test func float32ProductsAreAccurateEnoughForTheDashboard() throws {
        let c = try #require(Self.cases["darts"])
        let (net, input) = Self.network(c, as: Float.self)
        var hvp = HessianVectorProducts(supernet: net, input: input, labels: c.labels, noise: RandomGenerator(seed: 0), step: 1e-2, l2: 0)
        let product = hvp.flatten(hvp.product(hvp.unflatten(c.directions[0])))
        #expect(Self.relativeError(product, c.hvps[0]) < 1e-2, "Float32 HVP relative error \(Self.relativeError(product, c.hvps[0]))")
    }

    @Test func symmetricEigenvaluesOfAKnownMatrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let values = SymmetricEigen.eigenvalues([[2, 1], [1, 2]])
        #expect(abs(values[0] - 1) < 1e-12 && abs(values[1] - 3) < 1e-12)
    }
}
