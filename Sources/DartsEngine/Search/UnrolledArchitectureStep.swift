extension SearchEngine {
    /// Second-order DARTS (the DARTS paper's eq. 7–8): the α-gradient of
    /// L_val at the one-step-unrolled weights w' = w − η(μ·b + ∇w L_train + λw),
    /// minus η times the implicit term, estimated by the finite difference
    /// (∇α L_train(w⁺) − ∇α L_train(w⁻)) / 2ε with w± = w ± ε·∇w' L_val and
    /// ε = 0.01 / ‖∇w' L_val‖.
    ///
    /// The auxiliary passes use batch statistics without touching the running
    /// ones: only the ordinary steps move BN running statistics.
    func unrolledArchitectureGradient(
        train: (images: Tensor<Float>, labels: [Int]), valid: (images: Tensor<Float>, labels: [Int]),
        learningRate: Double, dropPath: Double
    ) -> ArchitectureGradient {
        let original = supernet.parameters.weights
        defer { supernet.parameters.weights = original }

        // ∇w L_train(w, α)
        let trainGradient: [String: Tensor<Float>] = {
            let tape = Tape<Float>()
            let pass = supernet.forward(train.images, on: tape, batchNormMode: .batchStatistics, alphasRequireGradient: false,
                                        dropPathProbability: dropPath, generator: &generator)
            tape.backward(from: pass.logits.crossEntropy(labels: train.labels))
            return pass.weights.compactMapValues(\.grad)
        }()

        // w' = w − η (μ b + g + λ w)
        var unrolled = original
        for (name, gradient) in trainGradient {
            var weight = unrolled[name]!
            let buffer = weightOptimizer.buffers[name]
            for i in 0..<weight.count {
                let moment = buffer.map { Float(config.momentum) * $0[i] } ?? 0
                weight.scalars[i] -= Float(learningRate) * (moment + gradient.scalars[i] + Float(config.weightDecay) * weight.scalars[i])
            }
            unrolled[name] = weight
        }
        supernet.parameters.weights = unrolled

        // ∇α L_val(w', α) and ∇w' L_val(w', α)
        let tape = Tape<Float>()
        let pass = supernet.forward(valid.images, on: tape, batchNormMode: .batchStatistics,
                                    dropPathProbability: dropPath, generator: &generator)
        let loss = pass.logits.crossEntropy(labels: valid.labels)
        tape.backward(from: loss)
        var alphaGradient = alphaGradients(pass)
        let validWeightGradient = pass.weights.compactMapValues(\.grad)
        let norm = globalNorm(validWeightGradient)
        let epsilon = 0.01 / max(norm, 1e-12)

        // (∇α L_train(w + ε v) − ∇α L_train(w − ε v)) / 2ε
        func trainAlphaGradient(sign: Double) -> [String: Tensor<Float>] {
            var shifted = original
            for (name, v) in validWeightGradient { shifted[name]!.add(v, scaledBy: Float(sign * epsilon)) }
            supernet.parameters.weights = shifted
            let tape = Tape<Float>()
            let pass = supernet.forward(train.images, on: tape, batchNormMode: .batchStatistics, weightsRequireGradient: false,
                                        dropPathProbability: dropPath, generator: &generator)
            tape.backward(from: pass.logits.crossEntropy(labels: train.labels))
            return alphaGradients(pass)
        }
        let plus = trainAlphaGradient(sign: 1), minus = trainAlphaGradient(sign: -1)
        for name in alphaGradient.keys {
            var implicit = plus[name]!
            implicit.add(minus[name]!, scaledBy: -1)
            alphaGradient[name]!.add(implicit, scaledBy: Float(-learningRate / (2 * epsilon)))
        }
        return ArchitectureGradient(gradients: alphaGradient, loss: Double(loss.value.scalars[0]),
                                    accuracy: pass.logits.value.accuracy(labels: valid.labels), layerGradients: layerGradients(pass))
    }
}
