import Foundation
import GraftCore
import GraftTestSupport
import GraftZip
import XCTest

/// Python's zipfile and torch read what `ZipWriter` writes. Runs only when `GRAFT_PYTHON` names a
/// Python with torch (e.g. `GRAFT_PYTHON=/path/to/venv/bin/python swift test --filter ZipInterop`).
final class ZipInteropTests: ZipTestCase {
    private static let check = """
        import struct, sys, zipfile, torch
        path, original = sys.argv[1], sys.argv[2]
        raw = open(path, "rb").read()
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None, "bad CRC"
            for info in z.infolist():
                assert info.compress_type == zipfile.ZIP_STORED, info.filename
                n, e = struct.unpack_from("<HH", raw, info.header_offset + 26)
                assert (info.header_offset + 30 + n + e) % 64 == 0, info.filename
        # The fixture is ours and pickled with protocol 4, whose FRAME opcode torch's
        # weights_only unpickler refuses ("Unsupported operand 149"): load it unrestricted.
        for mmap in (False, True):
            a = torch.load(path, weights_only=False, mmap=mmap)
            b = torch.load(original, weights_only=False)
            assert list(a) == list(b), (list(a), list(b))
            for k in a:
                assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), k
        print("interop ok", len(a))
        """

    func testPythonZipfileAndTorchLoadReadTheWriterOutput() throws {
        guard let python = ProcessInfo.processInfo.environment["GRAFT_PYTHON"] else {
            throw XCTSkip("set GRAFT_PYTHON to a Python with torch to run the interop check")
        }
        // A minimal torch archive: the pickle, the storages and the version, nothing else.
        let originalPath = TestPaths.fixture("zip/tiny_buffer.pth")
        let original = try ZipArchive(path: originalPath)
        let path = folder.appendingPathComponent("minimal.pth").path
        let writer = try ZipWriter(destination: path)
        for entry in original.entries
        where entry.name == "archive/data.pkl" || entry.name.hasPrefix("archive/data/")
            || entry.name == "archive/version"
        {
            try writer.add(name: entry.name, data: try original.read(entry))
        }
        try writer.commit()

        let script = folder.appendingPathComponent("check.py")
        try Self.check.write(to: script, atomically: true, encoding: .utf8)
        let (status, text) = try PythonProcess.run(python, [script.path, path, originalPath])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("interop ok 4"), text)
    }
}
