import CZip

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A libzip error (`zip_error_t`) copied into Swift values, and its translation into `ZipError`.
struct LibzipStatus {
    /// `ZIP_ER_*`.
    let code: Int32
    /// errno or zlib code, depending on the libzip error.
    let system: Int32
    /// libzip's own one-line text, e.g. "CRC error".
    let message: String

    init(code: Int32, system: Int32, message: String) {
        self.code = code
        self.system = system
        self.message = message
    }

    init(_ error: UnsafeMutablePointer<zip_error_t>) {
        code = zip_error_code_zip(error)
        system = zip_error_code_system(error)
        message = String(cString: zip_error_strerror(error))
    }

    init(code: Int32) {
        var error = zip_error_t()
        zip_error_init_with_code(&error, code)
        defer { zip_error_fini(&error) }
        self.init(&error)
    }

    /// The error of an archive handle (`zip_get_error`).
    static func of(archive: OpaquePointer) -> LibzipStatus { LibzipStatus(zip_get_error(archive)) }

    /// The error of an open entry (`zip_file_get_error`).
    static func of(file: OpaquePointer) -> LibzipStatus { LibzipStatus(zip_file_get_error(file)) }

    /// The bytes of a C string libzip returned (a name: raw bytes, not yet known to be UTF-8).
    static func bytes(of cString: UnsafePointer<CChar>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: cString, count: strlen(cString)))
    }

    /// An error met while reading one entry's data.
    func readError(entry: ZipEntry) -> ZipError {
        switch code {
        case ZIP_ER_CRC:
            return entry.crc32 == 0 ? .crcNotRecorded(entry: entry.name) : .crcMismatch(entry: entry.name)
        case ZIP_ER_INCONS:
            // The CRC layer compares the byte count at the end of the data with the header.
            return .sizeMismatch(
                entry: entry.name, declared: entry.size, reason: "the data has a different length")
        case ZIP_ER_ZLIB, ZIP_ER_COMPRESSED_DATA:
            return .corruptCompressedData(entry: entry.name, reason: message)
        case ZIP_ER_COMPNOTSUPP:
            return .unsupportedCompression(entry: entry.name, method: entry.compression.method)
        case ZIP_ER_ENCRNOTSUPP, ZIP_ER_NOPASSWD, ZIP_ER_WRONGPASSWD:
            return .encryptedEntry(name: entry.name)
        case ZIP_ER_EOF:
            return .readFailed(entry: entry.name, reason: "the file ends inside the entry's data")
        default:
            return .readFailed(entry: entry.name, reason: message)
        }
    }
}
