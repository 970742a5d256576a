package dev.pacer.core;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Drives {@link NativeLoader}'s stale-library cleanup for the Rust JNI tests: static methods
 * called in the test's in-process JVM, and {@link #main} for the other JVMs the test starts.
 */
public final class NativeLoaderDriver {
    private static final List<FileChannel> HELD = new ArrayList<>();

    private NativeLoaderDriver() {
    }

    /** Runs the cleanup on {@code dir}; returns the number of files it deleted. */
    public static String deleteStale(String dir) {
        return Integer.toString(NativeLoader.deleteStaleLibraries(new File(dir)));
    }

    /** Locks {@code path} in this JVM for good, as another class loader's NativeLoader would. */
    public static String holdLock(String path) throws IOException {
        FileChannel channel = FileChannel.open(Paths.get(path), StandardOpenOption.WRITE);
        HELD.add(channel);
        return channel.tryLock() == null ? "not locked" : "locked";
    }

    /** Extracts a (fake) library into {@code dir} the way the loader does; returns its path. */
    public static String extract(String dir) throws IOException {
        InputStream in = new ByteArrayInputStream("not a library".getBytes(StandardCharsets.UTF_8));
        return NativeLoader.extract(in, new File(dir)).getPath();
    }

    /**
     * {@code hold PATH}: locks PATH, prints "locked" and keeps the lock until stdin closes or the
     * process is killed. {@code probe PATH}: prints "held" if another process locks PATH, else
     * "free". {@code clean DIR}: runs the cleanup on DIR and prints the number of files deleted.
     * {@code race DIR ROUNDS}: cleans DIR, extracts a library into it, then cleans it ROUNDS
     * times, as drivers starting side by side do; prints "ok" if its library and lock file
     * survived every round.
     */
    public static void main(String[] args) throws IOException {
        switch (args[0]) {
            case "hold":
                try (FileChannel channel = FileChannel.open(Paths.get(args[1]), StandardOpenOption.WRITE)) {
                    channel.lock();
                    System.out.println("locked");
                    System.out.flush();
                    while (System.in.read() >= 0) {
                        // Wait for the test to close stdin.
                    }
                }
                break;
            case "probe":
                try (FileChannel channel = FileChannel.open(Paths.get(args[1]), StandardOpenOption.WRITE)) {
                    FileLock lock = channel.tryLock();
                    System.out.println(lock == null ? "held" : "free");
                }
                break;
            case "clean":
                System.out.println(deleteStale(args[1]));
                break;
            case "race":
                File dir = new File(args[1]);
                NativeLoader.deleteStaleLibraries(dir);
                File library = new File(extract(args[1]));
                File lockFile = new File(library.getPath() + NativeLoader.LOCK_SUFFIX);
                for (int round = Integer.parseInt(args[2]); round > 0; round--) {
                    NativeLoader.deleteStaleLibraries(dir);
                    if (!library.exists() || !lockFile.exists()) {
                        System.out.println("deleted while alive: " + library);
                        return;
                    }
                }
                System.out.println("ok");
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }
}
