package dev.pacer.core;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads {@code libpacer.so}: first from {@code java.library.path} (so that
 * {@code spark.driver.extraLibraryPath} works), otherwise the copy bundled in the jar under
 * {@code native/<os>-<arch>/}, extracted to a temporary file.
 *
 * <p>An extracted library {@code libpacer-<random>.so} has a companion
 * {@code libpacer-<random>.so.lck} that its JVM keeps exclusively locked ({@link FileLock}) for
 * its whole life. Both are deleted at a normal exit; a killed JVM leaves them behind, unlocked,
 * and the next load deletes every extracted library whose lock file can be locked, or is missing
 * (then only once the library is a minute old).
 * Rules that make this safe for JVMs starting side by side:
 * <ul>
 *   <li>the lock file is created (with a unique name), locked and checked to still exist before
 *       its library is written, so a library without a lock file is never about to be loaded;
 *   <li>a lock file is deleted only by a holder of its lock, after its library;
 *   <li>a lock file this JVM already locks (another class loader's) is skipped without closing
 *       the channel opened on it, because closing any channel on a file releases the JVM's POSIX
 *       lock on it.
 * </ul>
 * Cleanup never stops loading: its failures are ignored.
 */
public final class NativeLoader {
    public static final String LIBRARY = "pacer";

    static final String EXTRACTED_PREFIX = "libpacer-";
    static final String EXTRACTED_SUFFIX = ".so";
    static final String LOCK_SUFFIX = ".lck";
    private static final int EXTRACT_ATTEMPTS = 10;
    /**
     * A library without a lock file is deleted only once it is this old: a loader from before
     * lock files loads its copy right after writing it, without one.
     */
    private static final long UNLOCKED_GRACE_MS = 60_000;

    private static boolean loaded;
    private static String source;
    private static String failure;
    /** The lock on this JVM's extracted library, held until the JVM exits. */
    private static FileChannel ownLock;
    private static File ownLockFile;
    /** Channels on lock files this JVM already held; closing them would release those locks. */
    private static final List<FileChannel> KEPT_OPEN = new ArrayList<>();

    private NativeLoader() {
    }

    /** Loads the library once; later calls return at once or repeat the first failure. */
    public static synchronized void load() {
        if (loaded) {
            return;
        }
        if (failure != null) {
            throw new PacerNativeException(failure);
        }
        deleteStaleLibraries(new File(System.getProperty("java.io.tmpdir")));
        String libraryPathError;
        try {
            System.loadLibrary(LIBRARY);
            loaded = true;
            source = "java.library.path";
            return;
        } catch (UnsatisfiedLinkError e) {
            libraryPathError = e.getMessage();
        }
        String resource = "/native/" + platform() + "/" + System.mapLibraryName(LIBRARY);
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                failure = "native library not found: not on java.library.path (" + libraryPathError
                        + ") and not bundled in the jar as " + resource;
                throw new PacerNativeException(failure);
            }
            File file = extract(in, new File(System.getProperty("java.io.tmpdir")));
            try {
                System.load(file.getAbsolutePath());
            } catch (UnsatisfiedLinkError e) {
                releaseOwnLock(file);
                throw e;
            }
            loaded = true;
            source = "jar resource " + resource + ", extracted to " + file;
        } catch (IOException | UnsatisfiedLinkError e) {
            failure = "cannot load the native library bundled as " + resource + ": " + e;
            throw new PacerNativeException(failure, e);
        }
    }

    /** Where the library was loaded from, or null before it is. */
    public static synchronized String source() {
        return source;
    }

    /**
     * Copies {@code in} to a new {@code libpacer-<random>.so} in {@code dir} whose lock file this
     * JVM holds from then on. Both files are deleted when the JVM exits normally.
     */
    static synchronized File extract(InputStream in, File dir) throws IOException {
        for (int attempt = 1;; attempt++) {
            File lockFile = File.createTempFile(EXTRACTED_PREFIX, EXTRACTED_SUFFIX + LOCK_SUFFIX, dir);
            FileChannel channel = lockNew(lockFile);
            if (channel == null) {
                if (attempt == EXTRACT_ATTEMPTS) {
                    throw new IOException("cannot lock a new " + lockFile + ": other JVMs' cleanups took "
                            + attempt + " in a row");
                }
                continue;
            }
            File library = libraryOf(lockFile);
            try {
                Files.copy(in, library.toPath(), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException | RuntimeException e) {
                library.delete();
                lockFile.delete();
                channel.close();
                throw e;
            }
            // Deleted in reverse order: the library before its lock file.
            lockFile.deleteOnExit();
            library.deleteOnExit();
            ownLock = channel;
            ownLockFile = lockFile;
            return library;
        }
    }

    /**
     * Opens and locks a lock file just created; null if another JVM's cleanup, which may lock
     * and delete it until this JVM locks it, took it first.
     */
    private static FileChannel lockNew(File lockFile) throws IOException {
        FileChannel channel;
        try {
            channel = FileChannel.open(lockFile.toPath(), StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | RuntimeException e) {
            lockFile.delete();
            throw e;
        }
        boolean locked;
        try {
            locked = channel.tryLock() != null; // null: a cleanup holds it and is deleting it
        } catch (IOException e) {
            locked = true; // no locks on this file system: extract unprotected, as before
        }
        // Checked after locking: a cleanup may have locked and deleted it in between.
        if (locked && lockFile.exists()) {
            return channel;
        }
        channel.close();
        return null;
    }

    /** Undoes {@link #extract} after the library failed to load. */
    private static void releaseOwnLock(File library) {
        library.delete();
        if (ownLockFile != null) {
            ownLockFile.delete();
            ownLockFile = null;
        }
        if (ownLock != null) {
            try {
                ownLock.close();
            } catch (IOException ignored) {
                // Released at exit anyway.
            }
            ownLock = null;
        }
    }

    /**
     * Deletes the {@code libpacer-*.so} files in {@code dir} left by JVMs that are gone: those
     * whose lock file is missing or can be locked, with their lock files. Never throws.
     *
     * @return the number of files deleted
     */
    static synchronized int deleteStaleLibraries(File dir) {
        int deleted = 0;
        try {
            String[] names = dir.list();
            if (names == null) {
                return 0;
            }
            for (String name : names) {
                if (!name.startsWith(EXTRACTED_PREFIX)) {
                    continue;
                }
                File file = new File(dir, name);
                if (name.endsWith(EXTRACTED_SUFFIX + LOCK_SUFFIX)) {
                    deleted += deleteIfUnlocked(file);
                } else if (name.endsWith(EXTRACTED_SUFFIX)
                        && !new File(dir, name + LOCK_SUFFIX).exists()
                        && file.lastModified() < System.currentTimeMillis() - UNLOCKED_GRACE_MS
                        && file.delete()) {
                    // No lock file (checked now, not in the listing): its JVM is gone, never got
                    // to load it, or loaded it long ago (a loader without lock files).
                    deleted++;
                }
            }
        } catch (RuntimeException e) {
            // Fail open: a library left behind costs disk space, never the application.
        }
        return deleted;
    }

    /** Deletes a lock file and its library if no process holds the lock. */
    private static int deleteIfUnlocked(File lockFile) {
        if (lockFile.equals(ownLockFile)) {
            return 0;
        }
        FileChannel channel;
        try {
            // Never CREATE: a lock file that vanished belongs to a cleanup that just ran.
            channel = FileChannel.open(lockFile.toPath(), StandardOpenOption.WRITE);
        } catch (IOException | RuntimeException e) {
            return 0; // gone, or another user's file
        }
        boolean keepOpen = false;
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                keepOpen = true; // locked by this JVM (another class loader's NativeLoader)
                KEPT_OPEN.add(channel);
                return 0;
            }
            if (lock == null || !lockFile.exists()) {
                return 0; // a live JVM's, or deleted by another cleanup meanwhile
            }
            File library = libraryOf(lockFile);
            int deleted = 0;
            if (library.delete()) {
                deleted++;
            }
            // Deleted while still locked, so a JVM that is creating it sees it gone and retries.
            if (!library.exists() && lockFile.delete()) {
                deleted++;
            }
            return deleted;
        } catch (IOException | RuntimeException e) {
            return 0;
        } finally {
            if (!keepOpen) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // Nothing to undo.
                }
            }
        }
    }

    private static File libraryOf(File lockFile) {
        String path = lockFile.getPath();
        return new File(path.substring(0, path.length() - LOCK_SUFFIX.length()));
    }

    /** {@code linux-x86_64}, {@code linux-aarch64}, ... */
    public static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osName = os.contains("linux") ? "linux" : os.contains("mac") ? "darwin" : os.replace(' ', '_');
        String archName = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64"
                : arch.equals("arm64") || arch.equals("aarch64") ? "aarch64" : arch;
        return osName + "-" + archName;
    }
}
