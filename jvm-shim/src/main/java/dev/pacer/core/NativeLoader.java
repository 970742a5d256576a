package dev.pacer.core;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads {@code libpacer.so}: first from {@code java.library.path} (so that
 * {@code spark.driver.extraLibraryPath} works), otherwise the copy bundled in the jar under
 * {@code native/<os>-<arch>/}, extracted to a temporary file.
 */
public final class NativeLoader {
    public static final String LIBRARY = "pacer";

    private static boolean loaded;
    private static String source;
    private static String failure;

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
            File file = File.createTempFile("libpacer-", ".so");
            file.deleteOnExit();
            Files.copy(in, file.toPath(), StandardCopyOption.REPLACE_EXISTING);
            System.load(file.getAbsolutePath());
            loaded = true;
            source = "jar resource " + resource;
        } catch (IOException | UnsatisfiedLinkError e) {
            failure = "cannot load the native library bundled as " + resource + ": " + e;
            throw new PacerNativeException(failure, e);
        }
    }

    /** Where the library was loaded from, or null before it is. */
    public static synchronized String source() {
        return source;
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
