package dev.pacer.spark;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.spark.SparkConf;

import scala.Tuple2;

/** The configuration handed to the native core: all of SparkConf plus facts of this JVM. */
final class SparkSettings {
    private SparkSettings() {
    }

    static Map<String, String> of(SparkConf conf) {
        Map<String, String> settings = new LinkedHashMap<>();
        for (Tuple2<String, String> entry : conf.getAll()) {
            settings.put(entry._1(), entry._2());
        }
        fact(settings, "sparkVersion", () -> org.apache.spark.package$.MODULE$.SPARK_VERSION());
        fact(settings, "scalaVersion", () -> scala.util.Properties$.MODULE$.versionNumberString());
        fact(settings, "javaVersion", () -> System.getProperty("java.version"));
        fact(settings, "hadoopVersion", SparkSettings::hadoopVersion);
        fact(settings, "machineType", () -> System.getProperty("os.arch"));
        return settings;
    }

    /** Runtime facts fill the {@code env.*} keys the user did not set; a fact we cannot read is left out. */
    private static void fact(Map<String, String> settings, String name, Callable<String> reader) {
        try {
            String value = reader.call();
            if (value != null && !value.isEmpty()) {
                settings.put("pacer.runtime." + name, value);
            }
        } catch (Throwable ignored) {
            // The core reports "unknown" for it.
        }
    }

    /** Hadoop may be absent from the classpath, so it is looked up reflectively. */
    private static String hadoopVersion() throws Exception {
        return (String) Class.forName("org.apache.hadoop.util.VersionInfo").getMethod("getVersion").invoke(null);
    }
}
