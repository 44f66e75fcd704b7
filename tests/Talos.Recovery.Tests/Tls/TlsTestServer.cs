using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Talos.Recovery.Testing.Tls;

namespace Talos.Recovery.Tests.Tls;

/// <summary>
/// Kestrel on a loopback port chosen at run time, with a TLS set-up given by the test (the Talos BouncyCastle
/// middleware, Kestrel's own HTTPS, or plaintext h2c) and a few endpoints:
/// <c>GET /whoami</c> (who the server thinks the client is), <c>POST /echo</c> (the body back), and two raw gRPC
/// methods: <c>/test.Echo/Unary</c> (echo) and <c>/test.Echo/Stream</c> (request: count and size, both int32 big-endian;
/// response: count messages of size bytes).
/// </summary>
internal sealed class TlsTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TlsTestServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Logs of every server and client of the test run, printed by a failing test (see <see cref="TestLogs"/>).</summary>
    public static Talos.Recovery.Tests.Client.Etcd.CapturingLoggerFactory Logs => TestLogs.Factory;

    public static Task<TlsTestServer> StartTalosTlsAsync(TalosTlsServerOptions options)
    {
        options = new TalosTlsServerOptions
        {
            CertificatePem = options.CertificatePem,
            KeyPem = options.KeyPem,
            ClientCaPem = options.ClientCaPem,
            LoggerFactory = Logs,
        };
        return StartAsync(listen => listen.UseTalosTls(options), Logs);
    }

    public static async Task<TlsTestServer> StartAsync(Action<ListenOptions> configure, ILoggerFactory? loggerFactory = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory ?? Logs);

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, configure));
        WebApplication app = builder.Build();
        app.MapGet("/whoami", Describe);
        app.MapPost("/echo", async context =>
        {
            context.Response.ContentType = "application/octet-stream";
            await context.Request.Body.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
        app.MapPost("/test.Echo/Unary", UnaryAsync);
        app.MapPost("/test.Echo/Stream", StreamAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new TlsTestServer(app, new Uri(address).Port);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }

    private static Task Describe(HttpContext context)
    {
        ITalosClientIdentity? identity = context.Features.Get<ITalosClientIdentity>();
        X509Certificate2? certificate = context.Connection.ClientCertificate;
        string roles = identity is not null
            ? string.Join(",", identity.Roles)
            : certificate is null ? "" : string.Join(",", certificate.SubjectName.EnumerateRelativeDistinguishedNames(reversed: false)
                .Where(rdn => rdn.GetSingleElementType().Value == "2.5.4.10").Select(rdn => rdn.GetSingleElementValue()));
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync(
            $"roles={roles};tls={identity?.TlsVersion ?? "kestrel"};protocol={context.Request.Protocol};scheme={context.Request.Scheme};cert={(certificate is null ? "none" : "present")};talos-role={string.Join(",", context.Request.Headers["talos-role"].ToArray())}");
    }

    private static async Task UnaryAsync(HttpContext context)
    {
        byte[] message = await ReadMessageAsync(context.Request.BodyReader, context.RequestAborted);
        context.Response.ContentType = "application/grpc";
        await WriteMessageAsync(context.Response.BodyWriter, message, context.RequestAborted);
        context.Response.AppendTrailer("grpc-status", "0");
    }

    private static async Task StreamAsync(HttpContext context)
    {
        byte[] request = await ReadMessageAsync(context.Request.BodyReader, context.RequestAborted);
        int count = BinaryPrimitives.ReadInt32BigEndian(request);
        int size = BinaryPrimitives.ReadInt32BigEndian(request.AsSpan(4));
        context.Response.ContentType = "application/grpc";
        byte[] payload = new byte[size];
        Random.Shared.NextBytes(payload);
        PipeWriter writer = context.Response.BodyWriter;
        for (int i = 0; i < count; i++)
        {
            Span<byte> span = writer.GetSpan(5 + size);
            span[0] = 0;
            BinaryPrimitives.WriteInt32BigEndian(span[1..], size);
            payload.CopyTo(span[5..]);
            writer.Advance(5 + size);
            if (writer.UnflushedBytes >= 32 * 1024 || i == count - 1)
            {
                await writer.FlushAsync(context.RequestAborted);
            }
        }

        context.Response.AppendTrailer("grpc-status", "0");
    }

    private static async Task<byte[]> ReadMessageAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        byte[] header = new byte[5];
        while (true)
        {
            ReadResult result = await reader.ReadAsync(cancellationToken);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (buffer.Length >= 5)
            {
                buffer.Slice(0, 5).CopyTo(header);
                int length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
                if (buffer.Length >= 5 + length)
                {
                    byte[] message = buffer.Slice(5, length).ToArray();
                    reader.AdvanceTo(buffer.GetPosition(5 + length));
                    return message;
                }
            }

            if (result.IsCompleted)
            {
                throw new InvalidDataException("The request ended before a whole gRPC message.");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static async Task WriteMessageAsync(PipeWriter writer, byte[] message, CancellationToken cancellationToken)
    {
        byte[] header = new byte[5];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), message.Length);
        await writer.WriteAsync(header, cancellationToken);
        await writer.WriteAsync(message, cancellationToken);
    }

    /// <summary>The response body of <c>/whoami</c> as key/value pairs.</summary>
    public static Dictionary<string, string> ParseWhoAmI(string body)
        => body.Split(';').Select(part => part.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");

    /// <summary>UTF-8 bytes, for bodies.</summary>
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
