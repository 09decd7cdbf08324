extension Winograd {
    /// How the transformed filters U[ξ] (O × C, one plane per ξ) are laid out: for the multiply that
    /// reads them (`multiply`).
    enum FilterLayout: Hashable {
        /// Row-major, for OpenBLAS.
        case rows
        /// `PanelGemm`'s 6-row panels.
        case panels
        /// `ColumnPanelGemm`'s 32-row panels: products of few tiles (small planes) on AVX-512.
        case columnPanels

        /// The layout for a convolution whose products have `columns` tiles: column panels for products
        /// narrower than `WinogradBlocks.columnPanelTiles` where that multiply runs.
        static func choose(packedWeights: Bool, columns: Int, _ tuning: ConvolutionOptions.WinogradBlocks) -> FilterLayout {
            guard packedWeights else { return .rows }
            return ColumnPanelGemm.available && columns < tuning.columnPanelTiles ? .columnPanels : .panels
        }

        /// Floats per ξ.
        func plane(o: Int, c: Int) -> Int {
            switch self {
            case .rows, .panels: PanelGemm.paddedRows(o) * c
            case .columnPanels: ColumnPanelGemm.packedCount(m: o, k: c)
            }
        }

        /// Where (within a plane) the padding rows' panel starts, whose unused rows must read as zeros
        /// (their products are computed, never read, and must stay finite); nil when there are none.
        func paddedPanelStart(o: Int, c: Int) -> Int? {
            switch self {
            case .rows: return nil
            case .panels: return plane(o: o, c: c) - PanelGemm.rows * c
            case .columnPanels:
                let rows = ColumnPanelGemm.panelRows
                return o % rows == 0 || o % rows == 16 ? nil : o / rows * rows * c
            }
        }

        /// Offset (within a plane) of U's element (row, column), and the distance between its columns.
        @inline(__always)
        func place(row: Int, column: Int, o: Int, c: Int) -> (offset: Int, step: Int) {
            switch self {
            case .rows: (row * c + column, 1)
            case .panels: (PanelGemm.packedOffset(row: row, column: column, depth: c), PanelGemm.rows)
            case .columnPanels:
                (ColumnPanelGemm.packedOffset(row: row, column: column, m: o, k: c),
                 ColumnPanelGemm.panelWidth(row: row, m: o))
            }
        }
    }

    /// M[ξ] (paddedRows(O) × tiles) = U[ξ] (O × C) · V[ξ] (C × tiles), on the multiply `layout` is for.
    @inline(__always)
    static func multiply(_ g: ConvGeometry, u: UnsafePointer<Float>, layout: FilterLayout, v: UnsafeMutablePointer<Float>,
                         m: UnsafeMutablePointer<Float>, ld: Int, columns: Int, xi: Int) {
        let c = g.inChannels, o = g.outChannels, rows = PanelGemm.paddedRows(o)
        let a = u + xi * layout.plane(o: o, c: c), b = v + xi * c * ld, product = m + xi * rows * ld
        switch layout {
        case .panels:
            // Whole row panels (U's padding rows are zeros and M has room for them): no partial blocks.
            PanelGemm.multiply(m: rows, n: columns, k: c, a: a, b: b, ldb: ld, c: product, ldc: ld)
        case .columnPanels:
            ColumnPanelGemm.multiply(m: o, n: columns, k: c, a: a, panels: 0..<ColumnPanelGemm.panels(o),
                                     b: b, ldb: ld, c: product, ldc: ld)
        case .rows:
            Gemm.serial(transA: false, transB: false, m: o, n: columns, k: c, alpha: 1,
                        a: a, lda: c, b: b, ldb: ld, beta: 0, c: product, ldc: ld)
        }
    }
}
