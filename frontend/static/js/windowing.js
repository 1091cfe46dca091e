// Window/level: map stored intensities to 8-bit grey through a lookup table.

export function windowLut(center, width, maxValue = 65535) {
  const lut = new Uint8ClampedArray(maxValue + 1);
  const low = center - width / 2;
  const scale = 255 / Math.max(width, 1);
  for (let v = 0; v <= maxValue; v++) lut[v] = (v - low) * scale;
  return lut;
}

export function paint(imageData, slice, lut) {
  const out = imageData.data;
  for (let i = 0, j = 0; i < slice.length; i++, j += 4) {
    const g = lut[slice[i]];
    out[j] = g; out[j + 1] = g; out[j + 2] = g; out[j + 3] = 255;
  }
}
