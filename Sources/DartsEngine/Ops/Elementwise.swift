/// Elementwise and combining ops: ReLU, sums, scaling by a mixing weight.
extension Variable {
    /// max(x, 0). Records or replays its mask according to the tape's
    /// ``PatternMode``. Without replay the backward pass reads the pattern off
    /// the output (y > 0 ⇔ x > 0), so no mask is stored.
    public func relu() -> Variable {
        let count = value.count
        if case .replay(let patterns) = tape.patternMode {
            let mask = patterns.nextReluMask(count: count, op: "relu")
            let output = Tensor<Scalar>(uninitializedShape: value.shape) { Self.multiply(value.scalars, mask, into: $0) }
            return tape.record(output, kind: .elementwise, inputs: [self]) { [self] gradient in
                accumulateGradient(Tensor<Scalar>(uninitializedShape: value.shape) { Self.multiply(gradient.scalars, mask, into: $0) })
            }
        }
        let output = Tensor<Scalar>(uninitializedShape: value.shape) { out in
            value.scalars.withUnsafeBufferPointer { x in
                // max(x, 0) keeps NaN (like PyTorch), so divergence stays visible.
                Parallelism.forEachChunk(of: count, work: count) { range in
                    Scalar.planeKernels.relu(x.baseAddress! + range.lowerBound, count: range.count, into: out.baseAddress! + range.lowerBound)
                }
            }
        }
        if case .record(let patterns) = tape.patternMode {
            patterns.append(.reluMask(output.scalars.map { $0 > 0 ? 1 : 0 }))
        }
        return tape.record(output, kind: .elementwise, inputs: [self]) { [self] gradient in
            accumulateGradient(Tensor<Scalar>(uninitializedShape: value.shape) { dx in
                output.scalars.withUnsafeBufferPointer { y in
                    gradient.scalars.withUnsafeBufferPointer { g in
                        Parallelism.forEachChunk(of: count, work: count) { range in
                            let start = range.lowerBound
                            Scalar.planeKernels.reluBackward(g.baseAddress! + start, output: y.baseAddress! + start, count: range.count,
                                                             into: dx.baseAddress! + start)
                        }
                    }
                }
            })
        }
    }

    /// out[i] = x[i] · mask[i] with a 0/1 mask, in parallel chunks.
    private static func multiply(_ x: [Scalar], _ mask: [Float], into out: UnsafeMutableBufferPointer<Scalar>) {
        mask.withUnsafeBufferPointer { m in
            x.withUnsafeBufferPointer { x in
                Parallelism.forEachChunk(of: out.count, work: out.count) { range in
                    let start = range.lowerBound
                    Scalar.planeKernels.multiply(x.baseAddress! + start, mask: m.baseAddress! + start, count: range.count,
                                                 into: out.baseAddress! + start)
                }
            }
        }
    }

    /// `weights[index] · self`: one weighted term on its own.
    public func scaled(byElement index: Int, of weights: Variable) -> Variable {
        Variable.weightedSum([self], indices: [index], of: weights)
    }

    /// Σ_k weights[indices[k]] · terms[k] in one pass: a node's mixed edges,
    /// Σ over edges of Σ_o p_o·o(x), without a scaled copy of every op output.
    /// Differentiable in every term and in the mixing weights; a term whose
    /// input already holds a gradient (a skip connection's state) takes
    /// p·g added in place, and ⟨g, term⟩ is summed in chunk shares added in
    /// chunk order (same bits on any thread count).
    public static func weightedSum(_ terms: [Variable], indices: [Int], of weights: Variable) -> Variable {
        require(!terms.isEmpty && terms.count == indices.count, "weightedSum: \(terms.count) terms for \(indices.count) weight indices")
        let shape = terms[0].shape
        for (term, index) in zip(terms, indices) {
            require(term.shape == shape, "weightedSum: shape mismatch \(shape) vs \(term.shape)")
            require(index >= 0 && index < weights.value.count, "weightedSum: weight index \(index) outside weights of shape \(weights.shape)")
        }
        let factors = indices.map { weights.value.scalars[$0] }
        let count = shape.elementCount
        let output = Tensor<Scalar>(uninitializedShape: shape) { out in
            Parallelism.forEachChunk(of: count, work: count * terms.count) { range in
                for (k, term) in terms.enumerated() {
                    let factor = factors[k]
                    term.value.scalars.withUnsafeBufferPointer { x in
                        let source = x.baseAddress! + range.lowerBound, target = out.baseAddress! + range.lowerBound
                        if k == 0 {
                            Scalar.planeKernels.scale(source, count: range.count, by: factor, into: target)
                        } else {
                            Scalar.planeKernels.add(source, count: range.count, scaledBy: factor, into: target)
                        }
                    }
                }
            }
        }
        return terms[0].tape.record(output, kind: .elementwise, inputs: terms + [weights]) { gradient in
            var dw = weights.requiresGrad ? Tensor<Scalar>(zeros: weights.shape) : nil
            let ranges = Parallelism.chunks(of: count, work: count)
            for (k, term) in terms.enumerated() {
                term.accumulateGradient(gradient, scaledBy: factors[k])
                guard dw != nil else { continue }
                // ⟨g, term⟩ in chunk shares added in chunk order.
                var shares = [Double](repeating: 0, count: ranges.count)
                gradient.scalars.withUnsafeBufferPointer { g in
                    term.value.scalars.withUnsafeBufferPointer { x in
                        shares.withUnsafeMutableBufferPointer { shares in
                            Parallelism.forEachChunk(of: count, work: count) { range in
                                shares[ranges.firstIndex(of: range)!] = Double(Scalar.planeKernels.dot(
                                    g.baseAddress! + range.lowerBound, x.baseAddress! + range.lowerBound, count: range.count))
                            }
                        }
                    }
                }
                dw!.scalars[indices[k]] += Scalar(shares.reduce(0, +))
            }
            if let dw { weights.accumulateGradient(dw) }
        }
    }

    /// `self + constant`, for shifting a variable by a fixed perturbation
    /// (the ± passes of a finite difference).
    public func adding(_ constant: Tensor<Scalar>) -> Variable {
        require(shape == constant.shape, "adding: shape mismatch \(shape) vs \(constant.shape)")
        var output = value
        output.add(constant)
        return tape.record(output, kind: .elementwise, inputs: [self]) { [self] gradient in
            accumulateGradient(gradient)
        }
    }

    /// The same value as a new node that keeps its gradient. Each cell takes
    /// its own copy p_l of the shared mixing weights this way, so that after
    /// backward `p_l.grad` is that cell's contribution ∂L/∂p_l, while the
    /// gradients still sum into p.
    public func copied() -> Variable {
        tape.record(value, kind: .memory, inputs: [self]) { [self] gradient in
            accumulateGradient(gradient)
        }.retainGradient()
    }

    /// Σ of same-shaped variables (a node summing its incoming edges).
    public static func sum(_ terms: [Variable]) -> Variable {
        require(!terms.isEmpty, "sum: no terms")
        var output = terms[0].value
        for term in terms.dropFirst() {
            require(
                term.shape == output.shape,
                "sum: shape mismatch \(output.shape) vs \(term.shape)")
            output.add(term.value)
        }
        return terms[0].tape.record(output, kind: .elementwise, inputs: terms) { gradient in
            for term in terms { term.accumulateGradient(gradient) }
        }
    }

    /// Σ over all elements, as a scalar of shape [].
    public func sumAll() -> Variable {
        let output = Tensor<Scalar>(shape: [], scalars: [Scalar(value.sum)])
        return tape.record(output, kind: .elementwise, inputs: [self]) { [self] gradient in
            accumulateGradient(Tensor(repeating: gradient.scalars[0], shape: shape))
        }
    }

    /// Σ self ⊙ weights, as a scalar: a fixed random projection turns any
    /// output into a scalar loss for gradient checks.
    public func dotted(with weights: Tensor<Scalar>) -> Variable {
        require(shape == weights.shape, "dotted: shape mismatch \(shape) vs \(weights.shape)")
        let output = Tensor<Scalar>(shape: [], scalars: [Scalar(value.dot(weights))])
        return tape.record(output, kind: .elementwise, inputs: [self]) { [self] gradient in
            var dx = weights
            dx.scale(by: gradient.scalars[0])
            accumulateGradient(dx)
        }
    }
}

extension Variable {
    /// ScheduledDropPath as R-DARTS applies it to each mixed-edge output: each
    /// sample is zeroed with `probability` and otherwise scaled by 1/keep.
    public func droppingPath(probability: Double, generator: inout RandomGenerator) -> Variable {
        require(probability >= 0 && probability < 1, "droppingPath: probability \(probability) outside [0, 1)")
        require(shape.count >= 1, "droppingPath: needs a batch axis, got \(shape)")
        let keep = 1 - probability
        let batch = shape[0], perSample = shape.dropFirst().reduce(1, *)
        let factors = (0..<batch).map { _ in generator.nextUniform() < keep ? Scalar(1 / keep) : 0 }
        let output = Tensor<Scalar>(uninitializedShape: shape) { out in
            for n in 0..<batch { for i in 0..<perSample { out[n * perSample + i] = value.scalars[n * perSample + i] * factors[n] } }
        }
        return tape.record(output, kind: .elementwise, inputs: [self]) { [self] gradient in
            let dx = Tensor<Scalar>(uninitializedShape: shape) { dx in
                for n in 0..<batch { for i in 0..<perSample { dx[n * perSample + i] = gradient.scalars[n * perSample + i] * factors[n] } }
            }
            accumulateGradient(dx)
        }
    }
}
