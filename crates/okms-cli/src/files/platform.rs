//! What protects a file, the one part of writing files that differs between Unix and Windows.
//!
//! On Unix a file is created with its final permission bits (0600 for a private key, so it is
//! never readable by others, even for an instant) and a renewed file takes over the owner,
//! group and bits of the one it replaces.
//!
//! Windows has no permission bits: a new file inherits the access control list (ACL) of its
//! directory. Under the user's profile (`%USERPROFILE%`, `%APPDATA%`) that list grants the user,
//! SYSTEM and the Administrators only, which is what protects a key there; elsewhere (`C:\`,
//! a share) others may be able to read it. okms-cli sets no ACL itself: that needs the Win32
//! security API, reachable from this crate only through unsafe code, which it forbids. A file
//! written next to the one it replaces inherits the same directory's ACL, so a renewal keeps
//! the protection the deployed file had unless someone gave that file its own ACL by hand.
//! README's Windows section tells users where to keep keys.

use std::fs::{self, File, FileType, OpenOptions};
use std::io;
use std::path::Path;

/// Creates a file that must not exist yet, with `mode` from the first instant on Unix (on
/// Windows it inherits its directory's ACL; `mode` has no meaning there).
pub(super) fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// Creates `dir` and its missing parents, readable by the owner only on Unix (0700); on
/// Windows they inherit their parent's ACL.
pub(super) fn create_private_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A device, FIFO or socket: something a command must never "replace" with a regular file.
/// Windows has none of these among paths a user would name as an output.
pub(super) fn is_special(file_type: &FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        file_type.is_block_device()
            || file_type.is_char_device()
            || file_type.is_fifo()
            || file_type.is_socket()
    }
    #[cfg(not(unix))]
    {
        let _ = file_type;
        false
    }
}

/// Whether two existing paths name the same file. On Unix, the same device and inode, however
/// spelled or linked. On Windows (where std's file index is not stable yet) the same resolved
/// path: every spelling and symlink is seen through, a second hard link is not.
pub(super) fn same_existing_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(a), fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (fs::canonicalize(a), fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// Owner, group and permission bits of a deployed file, which its successor takes over. On
/// Windows there are none to take over: the successor, written in the same directory, inherits
/// the same ACL (see the module's doc).
#[derive(Clone, Copy)]
pub(super) struct Ownership {
    #[cfg(unix)]
    uid: u32,
    #[cfg(unix)]
    gid: u32,
    #[cfg(unix)]
    mode: u32,
}

impl Ownership {
    /// `None` when nothing is deployed there yet (`--id`): the new file keeps its own.
    pub(super) fn of(target: &Path) -> io::Result<Option<Self>> {
        match fs::metadata(target) {
            #[cfg(unix)]
            Ok(m) => {
                use std::os::unix::fs::MetadataExt;
                Ok(Some(Ownership {
                    uid: m.uid(),
                    gid: m.gid(),
                    // Set-id and sticky bits have no business on a key or a certificate.
                    mode: m.mode() & 0o777,
                }))
            }
            #[cfg(not(unix))]
            Ok(_) => Ok(Some(Ownership {})),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Gives `path` this owner, group and mode (only root may give a file away).
    pub(super) fn give_to(self, path: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let m = fs::metadata(path)?;
            if (m.uid(), m.gid()) != (self.uid, self.gid) {
                std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))?;
            }
            fs::set_permissions(path, fs::Permissions::from_mode(self.mode))
        }
        #[cfg(not(unix))]
        {
            // The path must still be there, as on Unix, where its metadata is read first.
            fs::metadata(path).map(drop)
        }
    }
}

/// Whether `path` is a program a hook may run. On Unix, a file with an execute bit. On Windows,
/// a file, or `path` with `.exe` added: what `std::process::Command` itself tries there (a
/// `.cmd` or `.bat` must be named whole).
pub(crate) fn is_runnable(path: &Path) -> bool {
    let is_file = |p: &Path| fs::metadata(p).is_ok_and(|m| m.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        is_file(path) && fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let mut exe = path.as_os_str().to_owned();
        exe.push(".exe");
        is_file(path) || is_file(Path::new(&exe))
    }
}
