package eu.hanse.launcher;

import eu.hanse.kernels.Device;
import picocli.CommandLine;

/** Reads {@code --device auto|cpu|gpu}, refusing anything else with the accepted values. */
final class DeviceConverter implements CommandLine.ITypeConverter<Device> {
  static final String DESCRIPTION = "Where the tensor operations run: auto (the GPU when one works, "
      + "else the CPU, saying why in one log line), cpu, or gpu (refuses to start without a working GPU) "
      + "(default: ${DEFAULT-VALUE}).";

  @Override
  public Device convert(String value) {
    try {
      return Device.parse(value);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.TypeConversionException(e.getMessage());
    }
  }
}
