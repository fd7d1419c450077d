/// The classifier head and the loss: linear layer, softmax, cross-entropy.
extension Variable {
    /// `x · Wᵀ + b` for `x: [N, in]`, `W: [out, in]`, `b: [out]` (PyTorch Linear).
    public func linear(weight: Variable, bias: Variable?) -> Variable {
        require(shape.count == 2 && weight.shape.count == 2 && shape[1] == weight.shape[1],
                     "linear: input shape \(shape) vs weight shape \(weight.shape)")
        let batch = shape[0], inFeatures = shape[1], outFeatures = weight.shape[0]
        if let bias { require(bias.shape == [outFeatures], "linear: bias shape \(bias.shape) vs weight shape \(weight.shape)") }
        var output = Tensor<Scalar>(zeros: [batch, outFeatures])
        output.scalars.withUnsafeMutableBufferPointer { y in
            value.scalars.withUnsafeBufferPointer { x in
                weight.value.scalars.withUnsafeBufferPointer { w in
                    if let bias {
                        for n in 0..<batch { for o in 0..<outFeatures { y[n * outFeatures + o] = bias.value.scalars[o] } }
                    }
                    Scalar.gemm(transposeA: false, transposeB: true, m: batch, n: outFeatures, k: inFeatures,
                                alpha: 1, a: x.baseAddress!, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures,
                                beta: 1, c: y.baseAddress!, ldc: outFeatures)
                }
            }
        }
        var inputs = [self, weight]
        if let bias { inputs.append(bias) }
        return tape.record(output, kind: .classifier, inputs: inputs) { [self] gradient in
            gradient.scalars.withUnsafeBufferPointer { g in
                if requiresGrad {
                    var dx = Tensor<Scalar>(zeros: shape)
                    dx.scalars.withUnsafeMutableBufferPointer { dx in
                        weight.value.scalars.withUnsafeBufferPointer { w in
                            Scalar.gemm(transposeA: false, transposeB: false, m: batch, n: inFeatures, k: outFeatures,
                                        alpha: 1, a: g.baseAddress!, lda: outFeatures, b: w.baseAddress!, ldb: inFeatures,
                                        beta: 0, c: dx.baseAddress!, ldc: inFeatures)
                        }
                    }
                    accumulateGradient(dx)
                }
                if weight.requiresGrad {
                    var dw = Tensor<Scalar>(zeros: weight.shape)
                    dw.scalars.withUnsafeMutableBufferPointer { dw in
                        value.scalars.withUnsafeBufferPointer { x in
                            Scalar.gemm(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: batch,
                                        alpha: 1, a: g.baseAddress!, lda: outFeatures, b: x.baseAddress!, ldb: inFeatures,
                                        beta: 0, c: dw.baseAddress!, ldc: inFeatures)
                        }
                    }
                    weight.accumulateGradient(dw)
                }
                if let bias, bias.requiresGrad {
                    var db = [Double](repeating: 0, count: outFeatures)
                    for n in 0..<batch { for o in 0..<outFeatures { db[o] += Double(g[n * outFeatures + o]) } }
                    bias.accumulateGradient(Tensor(shape: [outFeatures], scalars: db.map { Scalar($0) }))
                }
            }
        }
    }

    /// Softmax over the last axis (the op axis of an α matrix `[edges, ops]`).
    public func softmax() -> Variable {
        require(shape.count >= 1 && shape.last! > 0, "softmax: needs a non-empty last axis, got \(shape)")
        let width = shape.last!, rows = value.count / width
        let output = Tensor<Scalar>(uninitializedShape: shape) { y in
            value.scalars.withUnsafeBufferPointer { x in
                for r in 0..<rows {
                    let row = x[(r * width)..<((r + 1) * width)]
                    let top = row.max()!
                    var total = 0.0
                    for i in 0..<width { let e = Scalar.exp(x[r * width + i] - top); y[r * width + i] = e; total += Double(e) }
                    for i in 0..<width { y[r * width + i] = Scalar(Double(y[r * width + i]) / total) }
                }
            }
        }
        return tape.record(output, kind: .classifier, inputs: [self]) { [self] gradient in
            // dx = y ⊙ (g − Σ g⊙y) per row
            let dx = Tensor<Scalar>(uninitializedShape: shape) { dx in
                for r in 0..<rows {
                    var inner = 0.0
                    for i in 0..<width { inner += Double(gradient.scalars[r * width + i]) * Double(output.scalars[r * width + i]) }
                    for i in 0..<width {
                        let k = r * width + i
                        dx[k] = output.scalars[k] * (gradient.scalars[k] - Scalar(inner))
                    }
                }
            }
            accumulateGradient(dx)
        }
    }

    /// Mean cross-entropy of logits `[N, classes]` against integer labels:
    /// −(1/N) Σₙ log softmax(xₙ)[yₙ], computed through log-sum-exp in Double.
    public func crossEntropy(labels: [Int]) -> Variable {
        require(shape.count == 2, "crossEntropy: logits must be [N, classes], got \(shape)")
        let batch = shape[0], classes = shape[1]
        require(labels.count == batch, "crossEntropy: \(labels.count) labels for logits of shape \(shape)")
        require(labels.allSatisfy { $0 >= 0 && $0 < classes }, "crossEntropy: label outside 0..<\(classes)")
        var probabilities = [Double](repeating: 0, count: batch * classes)
        var loss = 0.0
        value.scalars.withUnsafeBufferPointer { x in
            for n in 0..<batch {
                let row = (n * classes)..<((n + 1) * classes)
                let top = Double(x[row].max()!)
                var total = 0.0
                for k in row { let e = Double.exp(Double(x[k]) - top); probabilities[k] = e; total += e }
                for k in row { probabilities[k] /= total }
                loss -= Double(x[n * classes + labels[n]]) - top - Double.log(total)
            }
        }
        let output = Tensor<Scalar>(shape: [], scalars: [Scalar(loss / Double(batch))])
        return tape.record(output, kind: .classifier, inputs: [self]) { [self] gradient in
            // d/dx = (softmax(x) − onehot(y)) / N
            let scale = Double(gradient.scalars[0]) / Double(batch)
            let dx = Tensor<Scalar>(uninitializedShape: shape) { dx in
                for n in 0..<batch {
                    for k in 0..<classes {
                        let target = k == labels[n] ? 1.0 : 0.0
                        dx[n * classes + k] = Scalar((probabilities[n * classes + k] - target) * scale)
                    }
                }
            }
            accumulateGradient(dx)
        }
    }
}

extension Tensor {
    /// Fraction of rows of logits `[N, classes]` whose largest entry is the label.
    public func accuracy(labels: [Int]) -> Double {
        require(rank == 2 && labels.count == shape[0], "accuracy: logits shape \(shape) vs \(labels.count) labels")
        let classes = shape[1]
        var correct = 0
        for n in 0..<shape[0] {
            let row = scalars[(n * classes)..<((n + 1) * classes)]
            if let best = row.indices.max(by: { row[$0] < row[$1] }), best - n * classes == labels[n] { correct += 1 }
        }
        return shape[0] == 0 ? 0 : Double(correct) / Double(shape[0])
    }
}
